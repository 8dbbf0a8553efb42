import time

from kappa.worker.local import LambdaContext


def test_remaining_time_counts_down_to_zero():
    deadline = int(time.time() * 1000) + 10_000
    ctx = LambdaContext("req-1", "fn", deadline)
    first = ctx.get_remaining_time_in_millis()
    assert 0 < first <= 10_000
    time.sleep(0.05)
    assert ctx.get_remaining_time_in_millis() < first
    past = LambdaContext("req-2", "fn", int(time.time() * 1000) - 5)
    assert past.get_remaining_time_in_millis() == 0


def test_fields_look_like_aws(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
    ctx = LambdaContext("req-1", "my-fn", 0)
    assert ctx.aws_request_id == "req-1"
    assert ctx.function_name == "my-fn"
    assert ctx.function_version == "$LATEST"
    assert ctx.invoked_function_arn.endswith(":function:my-fn")
    assert ctx.memory_limit_in_mb == "512"
    assert ctx.log_group_name == "/aws/lambda/my-fn"
    assert "[$LATEST]" in ctx.log_stream_name
    assert ctx.identity is None and ctx.client_context is None
    assert "req-1" in repr(ctx)
