resource "aws_organizations_policy" "bks_block_phantom_user_creation" {
  name        = "bks-block-phantom-user-creation"
  description = "Deny creating BedrockAPIKey-* users and attaching AmazonBedrockLimitedAccess (the console's long-term key flow)"
  type        = "SERVICE_CONTROL_POLICY"
  content     = <<-EOT
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "DenyPhantomUserCreation",
          "Effect": "Deny",
          "Action": "iam:CreateUser",
          "Resource": "arn:aws:iam::*:user/BedrockAPIKey-*",
          "Condition": {
            "ArnNotLike": {
              "aws:PrincipalArn": "arn:aws:iam::*:role/bks-responder"
            }
          }
        },
        {
          "Sid": "DenyAmazonBedrockLimitedAccessAttachment",
          "Effect": "Deny",
          "Action": [
            "iam:AttachUserPolicy",
            "iam:AttachRolePolicy",
            "iam:AttachGroupPolicy"
          ],
          "Resource": "*",
          "Condition": {
            "ArnEquals": {
              "iam:PolicyARN": "arn:aws:iam::aws:policy/AmazonBedrockLimitedAccess"
            },
            "ArnNotLike": {
              "aws:PrincipalArn": "arn:aws:iam::*:role/bks-responder"
            }
          }
        }
      ]
    }
  EOT
}

# Attach to a test OU first, then widen (see docs/SCP.md):
# resource "aws_organizations_policy_attachment" "bks_block_phantom_user_creation_test_ou" {
#   policy_id = aws_organizations_policy.bks_block_phantom_user_creation.id
#   target_id = "ou-xxxx-xxxxxxxx"
# }
