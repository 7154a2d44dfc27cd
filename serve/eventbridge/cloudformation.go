package eventbridge

import "encoding/json"

// cloudFormation is the stack as a CloudFormation template (JSON).
// Resource types and properties: AWS::Events::Connection,
// AWS::Events::ApiDestination, AWS::Events::Rule, AWS::IAM::Role
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-events-connection.html
// and its neighbours).
func cloudFormation(o Options) ([]byte, error) {
	getAtt := func(res, attr string) map[string]any { return map[string]any{"Fn::GetAtt": []string{res, attr}} }
	resources := map[string]any{
		"BksConnection": map[string]any{
			"Type": "AWS::Events::Connection",
			"Properties": map[string]any{
				"Description":       "bks serve: the shared secret, sent in the " + o.Header + " header",
				"AuthorizationType": "API_KEY",
				"AuthParameters": map[string]any{"ApiKeyAuthParameters": map[string]any{
					"ApiKeyName": o.Header, "ApiKeyValue": map[string]any{"Ref": "EventsSecret"},
				}},
			},
		},
		"BksApiDestination": map[string]any{
			"Type": "AWS::Events::ApiDestination",
			"Properties": map[string]any{
				"Description":        "bks serve's POST /events/aws",
				"ConnectionArn":      getAtt("BksConnection", "Arn"),
				"HttpMethod":         "POST",
				"InvocationEndpoint": map[string]any{"Ref": "EventsURL"},
			},
		},
		"BksInvokeRole": map[string]any{
			"Type": "AWS::IAM::Role",
			"Properties": map[string]any{
				"Description": "Lets EventBridge invoke bks serve's API destination",
				"AssumeRolePolicyDocument": map[string]any{
					"Version": "2012-10-17",
					"Statement": []any{map[string]any{
						"Effect": "Allow", "Principal": map[string]any{"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole",
					}},
				},
				"Policies": []any{map[string]any{
					"PolicyName": "invoke-bks-serve",
					"PolicyDocument": map[string]any{
						"Version": "2012-10-17",
						"Statement": []any{map[string]any{
							"Effect": "Allow", "Action": "events:InvokeApiDestination", "Resource": getAtt("BksApiDestination", "Arn"),
						}},
					},
				}},
			},
		},
	}
	for _, r := range Rules() {
		resources[cfnName(r.Name)] = map[string]any{
			"Type": "AWS::Events::Rule",
			"Properties": map[string]any{
				"Description":  r.Description,
				"EventPattern": r.Pattern,
				"State":        r.State,
				"Targets": []any{map[string]any{
					"Id": "bks-serve", "Arn": getAtt("BksApiDestination", "Arn"), "RoleArn": getAtt("BksInvokeRole", "Arn"),
					"RetryPolicy": map[string]any{"MaximumEventAgeInSeconds": maxEventAge, "MaximumRetryAttempts": maxRetries},
				}},
			},
		}
	}
	tpl := map[string]any{
		"AWSTemplateFormatVersion": "2010-09-09",
		"Description": "bks serve: EventBridge sends IAM key events (us-east-1) and Bedrock calls (each region) to POST /events/aws. " +
			"Deploy in us-east-1 and in every region where Bedrock is used.",
		"Parameters": map[string]any{
			"EventsURL": map[string]any{"Type": "String", "Default": o.URL,
				"Description": "bks serve's https URL of /events/aws"},
			"EventsSecret": map[string]any{"Type": "String", "NoEcho": true, "MinLength": 16,
				"Description": "The shared secret: the content of bks serve's --events-secret-file"},
		},
		"Resources": resources,
	}
	b, err := json.MarshalIndent(tpl, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// cfnName is a rule's logical id: bks_keys → BksKeysRule.
func cfnName(name string) string {
	out := []byte("Bks")
	up := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '_' {
			up = true
			continue
		}
		if up && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		out = append(out, c)
	}
	return string(out) + "Rule"
}
