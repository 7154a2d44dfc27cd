package awsemu_test

import "github.com/aws/aws-sdk-go-v2/credentials"

func staticCreds(id, secret, token string) credentials.StaticCredentialsProvider {
	return credentials.NewStaticCredentialsProvider(id, secret, token)
}
