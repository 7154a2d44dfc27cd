# bks serve: EventBridge sends IAM key events (they arrive in us-east-1)
# and Bedrock calls (in the region of each call) to POST /events/aws.
# Apply in us-east-1, and in every other region where Bedrock is used.

variable "bks_events_url" {
  description = "bks serve's https URL of /events/aws"
  type        = string
  default     = "https://bks.example.com/events/aws"
}

variable "bks_events_secret" {
  description = "The shared secret: the content of bks serve's --events-secret-file"
  type        = string
  sensitive   = true
}

resource "aws_cloudwatch_event_connection" "bks" {
  name               = "bks-serve"
  description        = "bks serve: the shared secret, sent in the X-Bks-Events-Key header"
  authorization_type = "API_KEY"
  auth_parameters {
    api_key {
      key   = "X-Bks-Events-Key"
      value = var.bks_events_secret
    }
  }
}

resource "aws_cloudwatch_event_api_destination" "bks" {
  name                = "bks-serve"
  description         = "bks serve's POST /events/aws"
  invocation_endpoint = var.bks_events_url
  http_method         = "POST"
  connection_arn      = aws_cloudwatch_event_connection.bks.arn
}

resource "aws_iam_role" "bks_events" {
  name = "bks-serve-eventbridge"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "bks_events" {
  name = "invoke-bks-serve"
  role = aws_iam_role.bks_events.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = "events:InvokeApiDestination"
      Resource = aws_cloudwatch_event_api_destination.bks.arn
    }]
  })
}

resource "aws_cloudwatch_event_rule" "bks_keys" {
  name          = "bks-serve-keys"
  description   = "bks serve: Bedrock API keys and access keys of BedrockAPIKey-* users created, changed or deleted (IAM events arrive in us-east-1)"
  state         = "ENABLED"
  event_pattern = jsonencode({
    "detail": {
      "eventName": [
        "CreateAccessKey",
        "CreateServiceSpecificCredential",
        "DeleteAccessKey",
        "DeleteServiceSpecificCredential",
        "UpdateAccessKey",
        "UpdateServiceSpecificCredential"
      ],
      "eventSource": [
        "iam.amazonaws.com"
      ]
    },
    "detail-type": [
      "AWS API Call via CloudTrail"
    ],
    "source": [
      "aws.iam"
    ]
  })
}

resource "aws_cloudwatch_event_target" "bks_keys" {
  rule      = aws_cloudwatch_event_rule.bks_keys.name
  target_id = "bks-serve"
  arn       = aws_cloudwatch_event_api_destination.bks.arn
  role_arn  = aws_iam_role.bks_events.arn
  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
}

resource "aws_cloudwatch_event_rule" "bks_bedrock_calls" {
  name          = "bks-serve-bedrock-calls"
  description   = "bks serve: Bedrock calls, to measure the share made with IAM roles rather than API keys"
  state         = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
  event_pattern = jsonencode({
    "detail": {
      "eventSource": [
        "bedrock.amazonaws.com",
        "bedrock-mantle.amazonaws.com"
      ]
    },
    "detail-type": [
      "AWS API Call via CloudTrail"
    ]
  })
}

resource "aws_cloudwatch_event_target" "bks_bedrock_calls" {
  rule      = aws_cloudwatch_event_rule.bks_bedrock_calls.name
  target_id = "bks-serve"
  arn       = aws_cloudwatch_event_api_destination.bks.arn
  role_arn  = aws_iam_role.bks_events.arn
  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
}
