resource "aws_organizations_policy" "bks_protect_phantom_users" {
  name        = "bks-protect-phantom-users"
  description = "Deny access keys, console passwords, MFA devices, certificates, SSH keys, inline policies and extra managed policies on BedrockAPIKey-* users"
  type        = "SERVICE_CONTROL_POLICY"
  content     = <<-EOT
    {
      "Version": "2012-10-17",
      "Statement": [
        {
          "Sid": "DenyPhantomUserAccessKeys",
          "Effect": "Deny",
          "Action": "iam:CreateAccessKey",
          "Resource": "arn:aws:iam::*:user/BedrockAPIKey-*",
          "Condition": {
            "ArnNotLike": {
              "aws:PrincipalArn": "arn:aws:iam::*:role/bks-responder"
            }
          }
        },
        {
          "Sid": "DenyPhantomUserConsoleAccess",
          "Effect": "Deny",
          "Action": [
            "iam:CreateLoginProfile",
            "iam:UpdateLoginProfile"
          ],
          "Resource": "arn:aws:iam::*:user/BedrockAPIKey-*",
          "Condition": {
            "ArnNotLike": {
              "aws:PrincipalArn": "arn:aws:iam::*:role/bks-responder"
            }
          }
        },
        {
          "Sid": "DenyPhantomUserMFADevices",
          "Effect": "Deny",
          "Action": [
            "iam:EnableMFADevice",
            "iam:CreateVirtualMFADevice"
          ],
          "Resource": [
            "arn:aws:iam::*:user/BedrockAPIKey-*",
            "arn:aws:iam::*:mfa/BedrockAPIKey-*"
          ],
          "Condition": {
            "ArnNotLike": {
              "aws:PrincipalArn": "arn:aws:iam::*:role/bks-responder"
            }
          }
        },
        {
          "Sid": "DenyPhantomUserOtherCredentials",
          "Effect": "Deny",
          "Action": [
            "iam:UploadSigningCertificate",
            "iam:UploadSSHPublicKey"
          ],
          "Resource": "arn:aws:iam::*:user/BedrockAPIKey-*",
          "Condition": {
            "ArnNotLike": {
              "aws:PrincipalArn": "arn:aws:iam::*:role/bks-responder"
            }
          }
        },
        {
          "Sid": "DenyPhantomUserInlinePolicies",
          "Effect": "Deny",
          "Action": "iam:PutUserPolicy",
          "Resource": "arn:aws:iam::*:user/BedrockAPIKey-*",
          "Condition": {
            "ArnNotLike": {
              "aws:PrincipalArn": "arn:aws:iam::*:role/bks-responder"
            }
          }
        },
        {
          "Sid": "DenyPhantomUserExtraManagedPolicies",
          "Effect": "Deny",
          "Action": "iam:AttachUserPolicy",
          "Resource": "arn:aws:iam::*:user/BedrockAPIKey-*",
          "Condition": {
            "ArnNotEquals": {
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
# resource "aws_organizations_policy_attachment" "bks_protect_phantom_users_test_ou" {
#   policy_id = aws_organizations_policy.bks_protect_phantom_users.id
#   target_id = "ou-xxxx-xxxxxxxx"
# }
