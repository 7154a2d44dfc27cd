package serve

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	gh "github.com/google/go-github/v62/github"

	ghsrc "github.com/bks-dev/bks/sources/github"
)

// GitHubAuth is who the service is on GitHub: a GitHub App (AppID and its
// private key), which acts on each repository with a token of the
// installation the webhook delivery names, or one token (a personal access
// token, Token) for everything.
//
// An App's installation token is minted with a JWT the service signs with
// the App's key (RS256, issued 60 s in the past against clock drift,
// expiring 10 minutes after that, iss the App's id:
// docs.github.com/en/apps/creating-github-apps/authenticating-with-a-
// github-app/generating-a-json-web-token-jwt-for-a-github-app), then
// POST /app/installations/{id}/access_tokens. Installation tokens live one
// hour; each is kept per installation and replaced when less than
// tokenMargin of it remains, so that no call or fetch starts with a token
// about to expire.
type GitHubAuth struct {
	// APIURL is the REST API ("": https://api.github.com/).
	APIURL string
	// HTTP is the client of the API calls (nil: apiHTTP, whose timeout
	// bounds a call: a token is minted under a lock that every
	// installation's jobs wait on).
	HTTP *http.Client
	// Token is a personal access token (when AppID is 0).
	Token string
	// AppID and Key are the App's id and private key.
	AppID int64
	Key   *rsa.PrivateKey
	// Now is the clock (time.Now).
	Now func() time.Time

	mu     sync.Mutex
	tokens map[int64]installationToken
	login  string
}

// apiHTTP is the client of the API calls when GitHubAuth.HTTP is nil.
var apiHTTP = &http.Client{Timeout: 30 * time.Second}

func (a *GitHubAuth) httpClient() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return apiHTTP
}

// tokenMargin is how much of an installation token's life must remain for
// it to be used again.
const tokenMargin = 5 * time.Minute

type installationToken struct {
	token   string
	expires time.Time
}

// IsApp reports whether the service acts as a GitHub App.
func (a *GitHubAuth) IsApp() bool { return a != nil && a.AppID != 0 }

func (a *GitHubAuth) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// LoadAppKey reads an App's private key (PEM, PKCS#1 as GitHub issues it,
// or PKCS#8).
func LoadAppKey(path string) (*rsa.PrivateKey, error) {
	data, err := ReadPrivateFile("the App's private key", path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("the App's private key %s: no PEM block", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the App's private key %s: neither PKCS#1 nor PKCS#8", path)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the App's private key %s: not an RSA key", path)
	}
	return rk, nil
}

// JWT is a token that authenticates as the App (not as an installation).
func (a *GitHubAuth) JWT() (string, error) {
	if !a.IsApp() || a.Key == nil {
		return "", errors.New("github: no App id and private key")
	}
	now := a.now().Unix()
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	claims, err := json.Marshal(map[string]any{"iat": now - 60, "exp": now + 540, "iss": strconv.FormatInt(a.AppID, 10)})
	if err != nil {
		return "", err
	}
	signed := head + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, a.Key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("github: sign the App's JWT: %w", err)
	}
	return signed + "." + enc.EncodeToString(sig), nil
}

// token is the token for the repositories of installation (an App), or
// the personal access token.
func (a *GitHubAuth) token(ctx context.Context, installation int64) (string, error) {
	if a == nil {
		return "", nil
	}
	if !a.IsApp() {
		return a.Token, nil
	}
	if installation <= 0 {
		return "", errors.New("github: the delivery names no App installation (is the webhook the App's?)")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.tokens[installation]; ok && t.expires.Sub(a.now()) > tokenMargin {
		return t.token, nil
	}
	jwt, err := a.JWT()
	if err != nil {
		return "", err
	}
	c, err := ghsrc.NewClient(a.APIURL, jwt, a.httpClient())
	if err != nil {
		return "", err
	}
	it, _, err := c.Apps.CreateInstallationToken(ctx, installation, nil)
	if err != nil {
		return "", fmt.Errorf("github: installation %d token: %w", installation, err)
	}
	if it.GetToken() == "" || it.ExpiresAt == nil {
		return "", fmt.Errorf("github: installation %d token: the answer has no token or expiry", installation)
	}
	if a.tokens == nil {
		a.tokens = map[int64]installationToken{}
	}
	a.tokens[installation] = installationToken{it.GetToken(), it.ExpiresAt.Time}
	return it.GetToken(), nil
}

// forget drops installation's cached token when it is token (GitHub
// refused it before its hour: the App was uninstalled or the token
// revoked), so that the next call mints another; it reports whether it
// did. A personal access token is not forgotten.
func (a *GitHubAuth) forget(installation int64, token string) bool {
	if !a.IsApp() {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.tokens[installation]; ok && t.token == token {
		delete(a.tokens, installation)
		return true
	}
	return false
}

// refused reports whether err is GitHub refusing the credentials (401).
func refused(err error) bool {
	var er *gh.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == http.StatusUnauthorized
}

// client is an API client for the repositories of installation.
func (a *GitHubAuth) client(ctx context.Context, installation int64) (*gh.Client, string, error) {
	tok, err := a.token(ctx, installation)
	if err != nil {
		return nil, "", err
	}
	c, err := ghsrc.NewClient(a.APIURL, tok, a.httpClient())
	return c, tok, err
}

// Login is the service's own login on GitHub: the App's bot
// ("<slug>[bot]", from GET /app) or the token's user (GET /user). A
// comment is the service's only when written by it.
func (a *GitHubAuth) Login(ctx context.Context) (string, error) {
	a.mu.Lock()
	login := a.login
	a.mu.Unlock()
	if login != "" {
		return login, nil
	}
	if a.IsApp() {
		jwt, err := a.JWT()
		if err != nil {
			return "", err
		}
		c, err := ghsrc.NewClient(a.APIURL, jwt, a.httpClient())
		if err != nil {
			return "", err
		}
		app, _, err := c.Apps.Get(ctx, "")
		if err != nil {
			return "", fmt.Errorf("github: the App: %w", err)
		}
		if app.GetSlug() == "" {
			return "", errors.New("github: the App has no slug")
		}
		login = app.GetSlug() + "[bot]"
	} else {
		c, err := ghsrc.NewClient(a.APIURL, a.Token, a.httpClient())
		if err != nil {
			return "", err
		}
		u, _, err := c.Users.Get(ctx, "")
		if err != nil {
			return "", fmt.Errorf("github: the token's user: %w", err)
		}
		if login = u.GetLogin(); login == "" {
			return "", errors.New("github: the token's user has no login")
		}
	}
	a.mu.Lock()
	a.login = login
	a.mu.Unlock()
	return login, nil
}
