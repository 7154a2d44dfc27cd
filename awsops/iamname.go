package awsops

import (
	"regexp"
	"sync"
)

// userNameRE is IAM's UserName pattern, [\w+=,.@-]+ of 1 to 64
// characters (https://docs.aws.amazon.com/IAM/latest/APIReference/API_User.html).
var userNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9+=,.@_-]{1,64}$`) })

// ValidUserName reports whether s may be an IAM user name.
func ValidUserName(s string) bool { return userNameRE().MatchString(s) }
