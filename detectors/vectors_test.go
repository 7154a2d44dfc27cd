package detectors

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

type vectorFile struct {
	LongTerm []struct {
		Case   string `json:"case"`
		Key    string `json:"key"`
		KeyLen int    `json:"key_len"`
		Expect struct {
			Username          string `json:"username"`
			AccountID         string `json:"account_id"`
			KeyPosition       string `json:"key_position"`
			Marker            string `json:"marker"`
			UsernameAmbiguous bool   `json:"username_ambiguous"`
		} `json:"expect"`
		SecretSHA string `json:"secret_sha256_16"`
	} `json:"long_term"`
	ShortTerm []struct {
		Token  string `json:"token"`
		Expect struct {
			AccessKeyID    string  `json:"access_key_id"`
			Region         string  `json:"region"`
			IssuedAt       string  `json:"issued_at"`
			ExpiresIn      int64   `json:"expires_in"`
			ExpiresAt      string  `json:"expires_at"`
			Account        *string `json:"account_id_from_access_key"`
			HasSecurityTok bool    `json:"has_security_token"`
		} `json:"expect"`
	} `json:"short_term"`
	AccountFromKeyID []struct {
		KeyID   string  `json:"key_id"`
		Account *string `json:"account"`
	} `json:"account_id_from_key_id"`
}

func loadVectors(t testing.TB) vectorFile {
	t.Helper()
	b, err := os.ReadFile("testdata/keys.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.LongTerm) == 0 || len(v.ShortTerm) == 0 || len(v.AccountFromKeyID) == 0 {
		t.Fatal("test vectors incomplete")
	}
	return v
}

func TestVectorsLongTerm(t *testing.T) {
	for _, tc := range loadVectors(t).LongTerm {
		t.Run(tc.Case, func(t *testing.T) {
			if tc.KeyLen != 0 && len(tc.Key) != tc.KeyLen {
				t.Fatalf("vector length %d, want %d", len(tc.Key), tc.KeyLen)
			}
			k, err := Decode(tc.Key, DecodeOptions{})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if k.Type != TypeLongTerm || k.Service != ServiceBedrock {
				t.Errorf("type/service = %s/%s", k.Type, k.Service)
			}
			if tc.Expect.UsernameAmbiguous {
				// '+' not followed by digits only is part of the name.
				if k.Username != "svc+bedrock" || k.KeyPosition != PositionPrimary {
					t.Errorf("ambiguous name decoded as %q/%s", k.Username, k.KeyPosition)
				}
			} else if k.Username != tc.Expect.Username {
				t.Errorf("username = %q, want %q", k.Username, tc.Expect.Username)
			}
			if tc.Expect.AccountID != "" && k.AccountID != tc.Expect.AccountID {
				t.Errorf("account = %q, want %q", k.AccountID, tc.Expect.AccountID)
			}
			if tc.Expect.KeyPosition != "" && k.KeyPosition != tc.Expect.KeyPosition {
				t.Errorf("position = %q, want %q", k.KeyPosition, tc.Expect.KeyPosition)
			}
			if k.Marker != tc.Expect.Marker {
				t.Errorf("marker = %q, want %q", k.Marker, tc.Expect.Marker)
			}
			if tc.SecretSHA != "" && k.SecretSHA256 != tc.SecretSHA {
				t.Errorf("secret_sha256 = %s, want %s", k.SecretSHA256, tc.SecretSHA)
			}
			if want := "arn:aws:iam::" + k.AccountID + ":user/" + k.Username; k.UserARN != want {
				t.Errorf("arn = %s, want %s", k.UserARN, want)
			}
		})
	}
}

func TestVectorsShortTerm(t *testing.T) {
	now := time.Date(2026, 5, 4, 12, 30, 0, 0, time.UTC)
	for _, tc := range loadVectors(t).ShortTerm {
		t.Run(tc.Expect.AccessKeyID, func(t *testing.T) {
			k, err := Decode(tc.Token, DecodeOptions{Now: now})
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			e := tc.Expect
			if k.Type != TypeShortTerm || k.AccessKeyID != e.AccessKeyID || k.Region != e.Region {
				t.Errorf("got %+v", k)
			}
			if got := k.IssuedAt.Format(time.RFC3339); got != e.IssuedAt {
				t.Errorf("issued_at = %s, want %s", got, e.IssuedAt)
			}
			if got := k.ExpiresAt.Format(time.RFC3339); got != e.ExpiresAt {
				t.Errorf("expires_at = %s, want %s", got, e.ExpiresAt)
			}
			if got := int64(k.ExpiresAt.Sub(*k.IssuedAt).Seconds()); got != e.ExpiresIn {
				t.Errorf("lifetime = %d, want %d", got, e.ExpiresIn)
			}
			wantLeft := int64(k.ExpiresAt.Sub(now).Seconds())
			if *k.ExpiresInSeconds != wantLeft || *k.Expired {
				t.Errorf("expires_in_seconds = %d expired=%v, want %d false", *k.ExpiresInSeconds, *k.Expired, wantLeft)
			}
			if *k.HasSessionToken != e.HasSecurityTok {
				t.Errorf("has_session_token = %v", *k.HasSessionToken)
			}
			if e.Account == nil && k.AccountID != "" {
				t.Errorf("account = %q, want none (old-style key id)", k.AccountID)
			}
			if e.Account != nil && k.AccountID != *e.Account {
				t.Errorf("account = %q, want %q", k.AccountID, *e.Account)
			}
			later, _ := Decode(tc.Token, DecodeOptions{Now: k.ExpiresAt.Add(time.Second)})
			if !*later.Expired || *later.ExpiresInSeconds != 0 {
				t.Errorf("after expiry: expired=%v left=%d", *later.Expired, *later.ExpiresInSeconds)
			}
		})
	}
}

func TestVectorsAccountFromKeyID(t *testing.T) {
	for _, tc := range loadVectors(t).AccountFromKeyID {
		got, ok := AccountFromKeyID(tc.KeyID)
		if tc.Account == nil {
			if ok {
				t.Errorf("%s: got %s, want none", tc.KeyID, got)
			}
			continue
		}
		if !ok || got != *tc.Account {
			t.Errorf("%s: got %q %v, want %s", tc.KeyID, got, ok, *tc.Account)
		}
	}
}
