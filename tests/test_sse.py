from proxy.sse import SSEParser, encode


def test_events_split_across_chunks() -> None:
    parser = SSEParser()
    assert parser.feed(b'event: message_start\ndata: {"a":') == []
    assert parser.feed(b" 1}\n") == []
    events = parser.feed(b"\n: comment\n\ndata: [DONE]\r\n\r\n")
    assert [(e.event, e.data) for e in events] == [("message_start", '{"a": 1}'), (None, "[DONE]")]
    assert events[0].json() == {"a": 1}


def test_multiline_data_and_flush() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: one\ndata: two\n") == []
    assert [e.data for e in parser.flush()] == ["one\ntwo"]


def test_encode() -> None:
    assert encode({"x": 1}) == b'data: {"x":1}\n\n'
    assert encode({"x": 1}, "ping") == b'event: ping\ndata: {"x":1}\n\n'
