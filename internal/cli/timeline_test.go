package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bks-dev/bks/internal/awsemu"
	"github.com/bks-dev/bks/internal/testkeys"
)

func TestTimelineCommand(t *testing.T) {
	const acct = "111122223333"
	now := time.Now().UTC()
	user := "BedrockAPIKey-tl01"
	asia := testkeys.AccessKeyID("ASIA", acct, 3)
	srv, env := irEmulator(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct, Events: []*awsemu.Event{
		{Region: "us-east-1", Time: now.Add(-2 * time.Hour), Name: "InvokeModel", Source: "bedrock.amazonaws.com", Username: user,
			AdditionalEventData: map[string]any{"callWithBearerToken": true}, RequestParameters: map[string]any{"modelId": "m1"}},
		{Region: "eu-west-1", Time: now.Add(-time.Hour), Name: "ListFoundationModels", Source: "bedrock.amazonaws.com", Username: user},
		{Region: "eu-west-1", Time: now.Add(-time.Hour), Name: "Converse", Source: "bedrock.amazonaws.com", AccessKeyID: asia},
	}}}})
	base := []string{"timeline", "--endpoint-url", srv.URL, "--regions", "us-east-1,eu-west-1"}
	code, out, errOut := runCLIEnv(t, env, "", append(base, "--days", "365", user)...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{"capped at 90", "* InvokeModel [API key] m1", "ListFoundationModels", "Summary: 2 events"} {
		if !strings.Contains(out, w) {
			t.Errorf("lacks %q:\n%s", w, out)
		}
	}
	key := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: asia, SecretKey: "s", SessionToken: "t", Region: "eu-west-1", Issued: now, Expires: 600})
	code, out, errOut = runCLIEnv(t, env, key, append(base, "--json", "-")...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res struct {
		Lookups []string
		Summary struct {
			Events      int
			Invocations int `json:"model_invocations"`
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Summary.Events != 1 || res.Summary.Invocations != 1 || res.Lookups[0] != "AccessKeyId="+asia {
		t.Errorf("%+v", res)
	}
	srv.Inject(awsemu.Fault{Action: "LookupEvents", Region: "eu-west-1", Kind: "denied"})
	code, _, errOut = runCLIEnv(t, env, "", append(base, user)...)
	if code != ExitFailure || !strings.Contains(errOut, "incomplete") {
		t.Errorf("failed region: exit %d %s", code, errOut)
	}
}

// A short-term key minted in an opt-in region: its own region is searched
// first even when the region list (here the default one, account:ListRegions
// being denied) leaves it out; and with account:ListRegions allowed, a
// user's events in an enabled opt-in region are found without --regions.
func TestTimelineOwnAndEnabledRegions(t *testing.T) {
	const acct = "111122223333"
	now := time.Now().UTC()
	user := "BedrockAPIKey-tl02"
	asia := testkeys.AccessKeyID("ASIA", acct, 4)
	srv, env := irEmulator(t, &awsemu.Seed{Accounts: []*awsemu.Account{{ID: acct,
		Regions: []string{"us-east-1", "eu-west-1", "ap-east-1"},
		Events: []*awsemu.Event{
			{Region: "ap-east-1", Time: now.Add(-time.Hour), Name: "Converse", Source: "bedrock.amazonaws.com", AccessKeyID: asia},
			{Region: "ap-east-1", Time: now.Add(-time.Hour), Name: "InvokeModel", Source: "bedrock.amazonaws.com", Username: user},
		}}}})
	key := testkeys.ShortTerm(testkeys.ShortTermOptions{AccessKeyID: asia, SecretKey: "s", SessionToken: "t", Region: "ap-east-1", Issued: now, Expires: 600})

	srv.Inject(awsemu.Fault{Action: "ListRegions", Kind: "denied"})
	code, out, errOut := runCLIEnv(t, env, key, "timeline", "--endpoint-url", srv.URL, "-")
	if code != ExitOK || !strings.Contains(out, "Converse") || !strings.Contains(out, "ap-east-1") {
		t.Errorf("short-term key from ap-east-1: exit %d\n%s%s", code, out, errOut)
	}

	srv.ClearFaults()
	code, out, errOut = runCLIEnv(t, env, "", "timeline", "--endpoint-url", srv.URL, user)
	if code != ExitOK || !strings.Contains(out, "InvokeModel") || !strings.Contains(errOut, "3 regions enabled in the account") {
		t.Errorf("user with events in an enabled opt-in region: exit %d\n%s%s", code, out, errOut)
	}
}
