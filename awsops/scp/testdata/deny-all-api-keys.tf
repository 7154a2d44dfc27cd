resource "aws_organizations_policy" "bks_deny_all_api_keys" {
  name        = "bks-deny-all-api-keys"
  description = "Deny creating Bedrock API keys and calling Bedrock or Bedrock Mantle with any API key (long- or short-term)"
  type        = "SERVICE_CONTROL_POLICY"
  content     = <<-EOT
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "DenyBedrockAPIKeyCreation",
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
          "Sid": "DenyBedrockAPIKeyUse",
          "Effect": "Deny",
          "Action": [
            "bedrock:CallWithBearerToken",
            "bedrock-mantle:CallWithBearerToken"
          ],
          "Resource": "*"
        }
      ]
    }
  EOT
}

# Attach to a test OU first, then widen (see docs/SCP.md):
# resource "aws_organizations_policy_attachment" "bks_deny_all_api_keys_test_ou" {
#   policy_id = aws_organizations_policy.bks_deny_all_api_keys.id
#   target_id = "ou-xxxx-xxxxxxxx"
# }
