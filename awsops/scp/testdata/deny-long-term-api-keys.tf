resource "aws_organizations_policy" "bks_deny_long_term_api_keys" {
  name        = "bks-deny-long-term-api-keys"
  description = "Deny creating long-term Bedrock API keys and calling Bedrock or Bedrock Mantle with one; short-term keys keep working"
  type        = "SERVICE_CONTROL_POLICY"
  content     = <<-EOT
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "DenyBedrockLongTermKeyCreation",
          "Effect": "Deny",
          "Action": "iam:CreateServiceSpecificCredential",
          "Resource": "*",
          "Condition": {
            "StringEquals": {
              "iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"
            }
          }
        },
        {
          "Sid": "DenyBedrockLongTermKeyUse",
          "Effect": "Deny",
          "Action": "bedrock:CallWithBearerToken",
          "Resource": "*",
          "Condition": {
            "StringEquals": {
              "bedrock:BearerTokenType": "LONG_TERM"
            }
          }
        },
        {
          "Sid": "DenyBedrockMantleLongTermKeyUse",
          "Effect": "Deny",
          "Action": "bedrock-mantle:CallWithBearerToken",
          "Resource": "*",
          "Condition": {
            "StringEquals": {
              "bedrock-mantle:BearerTokenType": "LONG_TERM"
            }
          }
        }
      ]
    }
  EOT
}

# Attach to a test OU first, then widen (see docs/SCP.md):
# resource "aws_organizations_policy_attachment" "bks_deny_long_term_api_keys_test_ou" {
#   policy_id = aws_organizations_policy.bks_deny_long_term_api_keys.id
#   target_id = "ou-xxxx-xxxxxxxx"
# }
