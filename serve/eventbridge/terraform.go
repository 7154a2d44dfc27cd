package eventbridge

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// terraform is the stack for the Terraform AWS provider
// (aws_cloudwatch_event_connection, aws_cloudwatch_event_api_destination,
// aws_cloudwatch_event_rule with its state argument, aws_cloudwatch_event_target,
// aws_iam_role).
func terraform(o Options) ([]byte, error) {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w(`# bks serve: EventBridge sends IAM key events (they arrive in us-east-1)
# and Bedrock calls (in the region of each call) to POST /events/aws.
# Apply in us-east-1, and in every other region where Bedrock is used.

variable "bks_events_url" {
  description = "bks serve's https URL of /events/aws"
  type        = string
  default     = %s
}

variable "bks_events_secret" {
  description = "The shared secret: the content of bks serve's --events-secret-file"
  type        = string
  sensitive   = true
}

resource "aws_cloudwatch_event_connection" "bks" {
  name               = "bks-serve"
  description        = %s
  authorization_type = "API_KEY"
  auth_parameters {
    api_key {
      key   = %s
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
`, hclString(o.URL), hclString("bks serve: the shared secret, sent in the "+o.Header+" header"), hclString(o.Header))
	for _, r := range Rules() {
		w(`
resource "aws_cloudwatch_event_rule" "bks_%[1]s" {
  name          = %[2]s
  description   = %[3]s
  state         = %[4]s
  event_pattern = jsonencode(%[5]s)
}

resource "aws_cloudwatch_event_target" "bks_%[1]s" {
  rule      = aws_cloudwatch_event_rule.bks_%[1]s.name
  target_id = "bks-serve"
  arn       = aws_cloudwatch_event_api_destination.bks.arn
  role_arn  = aws_iam_role.bks_events.arn
  retry_policy {
    maximum_event_age_in_seconds = %[6]d
    maximum_retry_attempts       = %[7]d
  }
}
`, r.Name, hclString("bks-serve-"+strings.ReplaceAll(r.Name, "_", "-")), hclString(r.Description), hclString(r.State),
			patternJSON(r.Pattern, "  "), maxEventAge, maxRetries)
	}
	return b.Bytes(), nil
}

// hclString quotes s for HCL: a JSON-style string whose ${ and %{ are
// escaped, so that no part of it is a template.
func hclString(s string) string {
	q := strconv.Quote(s)
	q = strings.ReplaceAll(q, "${", "$${")
	return strings.ReplaceAll(q, "%{", "%%{")
}
