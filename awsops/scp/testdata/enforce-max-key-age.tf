resource "aws_organizations_policy" "bks_enforce_max_key_age" {
  name        = "bks-enforce-max-key-age"
  description = "Deny creating long-term Bedrock API keys that live longer than the maximum age, or never expire"
  type        = "SERVICE_CONTROL_POLICY"
  content     = <<-EOT
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "DenyBedrockKeysOverMaxAge",
          "Effect": "Deny",
          "Action": "iam:CreateServiceSpecificCredential",
          "Resource": "*",
          "Condition": {
            "NumericGreaterThan": {
              "iam:ServiceSpecificCredentialAgeDays": "90"
            },
            "StringEquals": {
              "iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"
            }
          }
        },
        {
          "Sid": "DenyBedrockKeysThatNeverExpire",
          "Effect": "Deny",
          "Action": "iam:CreateServiceSpecificCredential",
          "Resource": "*",
          "Condition": {
            "Null": {
              "iam:ServiceSpecificCredentialAgeDays": "true"
            },
            "StringEquals": {
              "iam:ServiceSpecificCredentialServiceName": "bedrock.amazonaws.com"
            }
          }
        }
      ]
    }
  EOT
}

# Attach to a test OU first, then widen (see docs/SCP.md):
# resource "aws_organizations_policy_attachment" "bks_enforce_max_key_age_test_ou" {
#   policy_id = aws_organizations_policy.bks_enforce_max_key_age.id
#   target_id = "ou-xxxx-xxxxxxxx"
# }
