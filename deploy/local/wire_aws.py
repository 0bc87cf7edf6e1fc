#!/usr/bin/env python3
"""Build the CloudTrail -> S3 -> SNS -> SQS pipeline on a local AWS emulator.

Used by run-local.sh against moto_server; it talks only to --endpoint.

  wire_aws.py --endpoint URL setup
      Creates the bucket, topic, queue and dead-letter queue, subscribes the
      queue to the topic and points the bucket's ObjectCreated notification
      at the topic, like deploy/aws/trailwatch.yaml does in AWS. Prints the
      queue URL, then the dead-letter queue URL, one per line.

  wire_aws.py --endpoint URL upload FILE...
      Uploads CloudTrail log files (gzipped, as CloudTrail writes them, or
      plain JSON) under the key layout CloudTrail uses:
      AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<name>.json.gz

  wire_aws.py --endpoint URL wait-empty --timeout SECS
      Waits until the queue holds no visible and no in-flight message.
"""

import argparse
import datetime
import json
import re
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config

BUCKET = "trailwatch-local-cloudtrail"
TOPIC = "trailwatch-local-objects"
QUEUE = "trailwatch-local"
DEAD_LETTER_QUEUE = "trailwatch-local-dlq"
# The account and region the sample keys pretend to come from.
TRAIL_ACCOUNT = "111122223333"
TRAIL_REGION = "us-east-1"
# <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<random>.json.gz
CLOUDTRAIL_NAME = re.compile(r"^\d{12}_CloudTrail_[a-z0-9-]+_(\d{8}T\d{4}Z)_([A-Za-z0-9]+)\.json(\.gz)?$")


def clients(args):
    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name=args.region,
    )
    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3})
    return {
        name: session.client(name, endpoint_url=args.endpoint, config=config)
        for name in ("s3", "sns", "sqs")
    }


def queue_url(sqs, name):
    return sqs.get_queue_url(QueueName=name)["QueueUrl"]


def queue_arn(sqs, url):
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return attributes["Attributes"]["QueueArn"]


def setup(args, aws):
    s3, sns, sqs = aws["s3"], aws["sns"], aws["sqs"]

    dlq_url = sqs.create_queue(QueueName=DEAD_LETTER_QUEUE)["QueueUrl"]
    # Same settings as the CloudFormation stack, with a short visibility
    # timeout so that a failed message comes back quickly on a laptop.
    url = sqs.create_queue(
        QueueName=QUEUE,
        Attributes={
            "VisibilityTimeout": "30",
            "MaximumMessageSize": "262144",
            "ReceiveMessageWaitTimeSeconds": "20",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": queue_arn(sqs, dlq_url), "maxReceiveCount": "5"}
            ),
        },
    )["QueueUrl"]
    arn = queue_arn(sqs, url)

    topic_arn = sns.create_topic(Name=TOPIC)["TopicArn"]
    bucket_arn = f"arn:aws:s3:::{BUCKET}"
    sns.set_topic_attributes(
        TopicArn=topic_arn,
        AttributeName="Policy",
        AttributeValue=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "s3.amazonaws.com"},
                        "Action": "sns:Publish",
                        "Resource": topic_arn,
                        "Condition": {"ArnLike": {"aws:SourceArn": bucket_arn}},
                    }
                ],
            }
        ),
    )
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "Policy": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sns.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": arn,
                            "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                        }
                    ],
                }
            )
        },
    )
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)

    s3.create_bucket(Bucket=BUCKET)
    # Also sends an s3:TestEvent through the topic, which trailwatch must
    # acknowledge and skip.
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET,
        NotificationConfiguration={
            "TopicConfigurations": [
                {
                    "TopicArn": topic_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "AWSLogs/"}]}},
                }
            ]
        },
    )
    print(url)
    print(dlq_url)


def object_key(path, now):
    """The key CloudTrail would give this file, keeping its timestamp if named like one."""
    extension = ".json.gz" if path.name.endswith(".gz") else ".json"
    match = CLOUDTRAIL_NAME.match(path.name)
    if match:
        stamp = datetime.datetime.strptime(match.group(1), "%Y%m%dT%H%MZ")
        suffix = match.group(2)
    else:
        stamp = now
        suffix = re.sub(r"[^A-Za-z0-9]", "", path.name.removesuffix(extension)) or "sample"
    name = f"{TRAIL_ACCOUNT}_CloudTrail_{TRAIL_REGION}_{stamp:%Y%m%dT%H%MZ}_{suffix}{extension}"
    return f"AWSLogs/{TRAIL_ACCOUNT}/CloudTrail/{TRAIL_REGION}/{stamp:%Y/%m/%d}/{name}"


def upload(args, aws):
    now = datetime.datetime.now(datetime.timezone.utc)
    for file in args.files:
        path = Path(file)
        key = object_key(path, now)
        aws["s3"].upload_file(str(path), BUCKET, key)
        print(f"s3://{BUCKET}/{key}", file=sys.stderr)


def wait_empty(args, aws):
    sqs = aws["sqs"]
    url = queue_url(sqs, QUEUE)
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    deadline = time.monotonic() + args.timeout
    empty_checks = 0
    remaining = None
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        remaining = sum(int(attributes[name]) for name in names)
        # Twice in a row: S3 notifications reach the queue asynchronously.
        empty_checks = empty_checks + 1 if remaining == 0 else 0
        if empty_checks == 2:
            return 0
        time.sleep(1)
    print(f"queue {url} still holds {remaining} message(s) after {args.timeout} s", file=sys.stderr)
    return 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="emulator URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--region", default="us-east-1")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("setup")
    upload_parser = commands.add_parser("upload")
    upload_parser.add_argument("files", nargs="+")
    wait_parser = commands.add_parser("wait-empty")
    wait_parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()

    aws = clients(args)
    if args.command == "setup":
        setup(args, aws)
    elif args.command == "upload":
        upload(args, aws)
    else:
        return wait_empty(args, aws)
    return 0


if __name__ == "__main__":
    sys.exit(main())
