package cmdutil

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/bks-dev/bks/awsops"
	"github.com/bks-dev/bks/awsops/iamscan"
	"github.com/bks-dev/bks/awsops/org"
	"github.com/bks-dev/bks/awsops/verify"
)

// AWSFlags are the AWS CLI-style flags every account command takes.
type AWSFlags struct {
	Profile     string
	Region      string
	EndpointURL string
	Rate        float64
	MaxAttempts int
}

// Register adds the flags to fs.
func (f *AWSFlags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&f.Profile, "profile", "", "AWS profile from the shared config files (else AWS_PROFILE, then the default chain)")
	fs.StringVar(&f.Region, "region", "", "AWS region for regional calls (else AWS_REGION or the profile's; us-east-1 when none)")
	fs.StringVar(&f.EndpointURL, "endpoint-url", "", "send every AWS call to this endpoint (as the AWS CLI does), e.g. a test emulator")
	fs.Float64Var(&f.Rate, "rate", awsops.DefaultRate, "AWS requests per second per account, retries included (negative: no limit)")
	CountVar(fs, &f.MaxAttempts, "max-attempts", awsops.DefaultMaxAttempts, "attempts per AWS call; throttling and 5xx are retried with backoff")
}

// OrgFlags select an organization-wide run.
type OrgFlags struct {
	Org      bool
	Role     string
	Accounts []string
	Skip     []string
	Parallel int
}

// Register adds the flags to fs.
func (f *OrgFlags) Register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.Org, "org", false, "act on every ACTIVE account of the AWS Organization: lists them (management or delegated admin account), then assumes --org-role in each")
	fs.StringVar(&f.Role, "org-role", org.DefaultRole, "role to assume in member accounts; the default exists only in accounts the organization created and trusts only the management account: from a delegated admin, deploy a role of your own and name it here")
	fs.StringSliceVar(&f.Accounts, "org-accounts", nil, "only these account ids (comma-separated)")
	fs.StringSliceVar(&f.Skip, "org-skip", nil, "skip these account ids (comma-separated)")
	fs.IntVar(&f.Parallel, "org-parallel", 4, "accounts processed at once")
}

// Validate checks the account ids and that they come with --org.
func (f *OrgFlags) Validate() error {
	for _, id := range append(append([]string(nil), f.Accounts...), f.Skip...) {
		if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
			return fmt.Errorf("--org-accounts/--org-skip: %q is not a 12-digit account id", id)
		}
	}
	if !f.Org && (len(f.Accounts) > 0 || len(f.Skip) > 0) {
		return errors.New("--org-accounts and --org-skip need --org")
	}
	return nil
}

// PolicyFlags are the thresholds of what is over policy.
type PolicyFlags struct {
	MaxKeyAgeDays int
	DormantDays   int
	Concurrency   int
}

// Register adds the flags to fs.
func (f *PolicyFlags) Register(fs *pflag.FlagSet) {
	fs.IntVar(&f.MaxKeyAgeDays, "max-key-age", 90, "days after which an active Bedrock key is over policy")
	fs.IntVar(&f.DormantDays, "dormant-after", 90, "days after which an unused console password counts as a dormant leftover, not a live credential")
	CountVar(fs, &f.Concurrency, "concurrency", 8, "users read at once per account")
}

// Policy is the iamscan policy the flags describe.
func (f *PolicyFlags) Policy() iamscan.Policy {
	return iamscan.Policy{MaxKeyAge: Days(f.MaxKeyAgeDays), DormantAfter: Days(f.DormantDays)}
}

// Days is n days.
func Days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// AccountFlags are the flags of the commands that scan IAM in one account
// or a whole organization (scan, cleanup).
type AccountFlags struct {
	AWS    AWSFlags
	Org    OrgFlags
	Policy PolicyFlags
}

// Register adds the flags to fs.
func (f *AccountFlags) Register(fs *pflag.FlagSet) {
	f.AWS.Register(fs)
	f.Org.Register(fs)
	f.Policy.Register(fs)
}

// VerifyFlags opt in to live checks of the keys found (detect, triage).
// Embed them: their fields keep their names in the embedding options.
type VerifyFlags struct {
	Verify         bool
	VerifyRegion   string
	VerifyEndpoint string
}

// Register adds the flags to fs; help is the help of --verify.
func (f *VerifyFlags) Register(fs *pflag.FlagSet, help string) {
	fs.BoolVar(&f.Verify, "verify", false, help)
	fs.StringVar(&f.VerifyRegion, "verify-region", "", "region where long-term keys, which carry none, are live-checked (default: us-east-1, then us-gov-west-1 when rejected; name it for China and other partitions)")
	fs.StringVar(&f.VerifyEndpoint, "verify-endpoint", "", "https endpoint replacing AWS's Bedrock endpoint for live checks (tests, the emulator)")
}

// Options are the live-check options the flags choose.
func (f *VerifyFlags) Options(timeout time.Duration) verify.Options {
	return verify.Options{LongTermRegion: f.VerifyRegion, EndpointURL: f.VerifyEndpoint, Timeout: timeout}
}

// CountVar defines an int flag that counts workers, attempts, calls at
// once: 0 takes the default, a negative number is refused when parsed (it
// was taken for the default without a word).
func CountVar(fs *pflag.FlagSet, p *int, name string, value int, usage string) {
	*p = value
	fs.Var(&rangedInt{p: p, lo: 0, hi: math.MaxInt, want: "give 1 or more, or 0 for the default"}, name, usage)
}

// ExitCodeVar defines --exit-code: a process exits 0 to 255, and the
// system keeps the low 8 bits of anything else (300 would exit 44).
func ExitCodeVar(fs *pflag.FlagSet, p *int, value int, usage string) {
	*p = value
	fs.Var(&rangedInt{p: p, lo: 0, hi: 255, want: "an exit code is 0 to 255"}, "exit-code", usage)
}

// rangedInt is an int flag value refusing values outside [lo, hi]: pflag
// prints `invalid argument "300" for "--exit-code" flag: ` and want.
type rangedInt struct {
	p      *int
	lo, hi int
	want   string
}

func (v *rangedInt) String() string { return strconv.Itoa(*v.p) }
func (v *rangedInt) Type() string   { return "int" }

func (v *rangedInt) Set(s string) error {
	n, err := strconv.ParseInt(s, 0, strconv.IntSize)
	if err != nil {
		return errors.New("not a whole number")
	}
	if int(n) < v.lo || int(n) > v.hi {
		return errors.New(v.want)
	}
	*v.p = int(n)
	return nil
}
