package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSTSByRegion answers sts:GetCallerIdentity for credentials of the
// partition of region home only, as AWS does: STS of another partition
// answers InvalidClientTokenId.
func fakeSTSByRegion(t *testing.T, home, arn string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		if !strings.Contains(r.Header.Get("Authorization"), "/"+home+"/sts/") {
			w.WriteHeader(403)
			fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>1</RequestId></ErrorResponse>`)
			return
		}
		fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>%s</Arn><UserId>AIDEXAMPLE</UserId><Account>111122223333</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`, arn)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// GovCloud or China credentials with no region configured reach the
// commercial STS, which refuses them: bks finds their partition and asks
// for --region instead of saying "refresh them".
func TestOtherPartitionCredentialsAskForRegion(t *testing.T) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIAEMULATORCALLER01", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_CONFIG_FILE": filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"), "AWS_ENDPOINT_URL": "", "AWS_CA_BUNDLE": "",
	} {
		t.Setenv(k, v)
	}
	for _, tc := range []struct{ home, arn, want string }{
		{"us-gov-west-1", "arn:aws-us-gov:iam::111122223333:user/responder", "--region us-gov-west-1"},
		{"cn-north-1", "arn:aws-cn:iam::111122223333:user/responder", "--region cn-north-1"},
	} {
		srv := fakeSTSByRegion(t, tc.home, tc.arn)
		code, out, errOut := runCLIEnv(t, nil, "", "timeline", "--endpoint-url", srv.URL, "BedrockAPIKey-x")
		if code == ExitOK || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "refresh them") {
			t.Errorf("%s credentials: exit %d\n%s%s", tc.home, code, out, errOut)
		}
	}
}
