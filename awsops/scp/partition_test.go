package scp

import (
	"strings"
	"testing"
)

// TestRenderEveryPartition: every partition of the SDK's table renders,
// with its id in the ARNs.
func TestRenderEveryPartition(t *testing.T) {
	p, _ := Lookup("protect-phantom-users")
	for _, part := range []string{"aws", "aws-us-gov", "aws-cn", "aws-eusc", "aws-iso-f"} {
		doc, err := p.Render(Options{Partition: part})
		if err != nil || !strings.Contains(string(doc), "arn:"+part+":") {
			t.Errorf("%s: %v\n%s", part, err, doc)
		}
	}
}
