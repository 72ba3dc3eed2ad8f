"""Merging EventBridge into a bucket's notification configuration without dropping anything."""

from __future__ import annotations

from sibling_sentinel.domain.event_path.notifications import eventbridge_on, kept_summary, with_eventbridge

EXISTING = {
    "TopicConfigurations": [
        {"Id": "t", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Events": ["s3:ObjectCreated:*"]}
    ],
    "QueueConfigurations": [
        {"Id": "q", "QueueArn": "arn:aws:sqs:us-east-1:1:q", "Events": ["s3:ObjectRemoved:*"]}
    ],
    "LambdaFunctionConfigurations": [
        {
            "Id": "l",
            "LambdaFunctionArn": "arn:aws:lambda:us-east-1:1:function:f",
            "Events": ["s3:ObjectCreated:Put"],
        }
    ],
}


def test_merge_keeps_every_topic_queue_and_lambda_configuration_and_adds_eventbridge() -> None:
    # given a bucket that already notifies a topic, a queue and a function
    # when EventBridge is merged in
    merged = with_eventbridge(EXISTING)
    # then all three are kept exactly, and EventBridge is on
    assert {k: v for k, v in merged.items() if k != "EventBridgeConfiguration"} == EXISTING
    assert merged["EventBridgeConfiguration"] == {}
    assert eventbridge_on(merged)


def test_merge_of_an_empty_configuration_is_eventbridge_alone() -> None:
    assert with_eventbridge({}) == {"EventBridgeConfiguration": {}}
    assert not eventbridge_on({})


def test_merge_is_idempotent() -> None:
    once = with_eventbridge(EXISTING)
    assert with_eventbridge(once) == once


def test_summary_counts_what_is_kept() -> None:
    assert kept_summary(EXISTING) == "1 topic, 1 queue and 1 Lambda configurations"
