package scp

import (
	"bytes"
	"fmt"
	"strings"
)

// Terraform returns an aws_organizations_policy resource for the policy,
// followed by a commented-out attachment to a test OU (docs/SCP.md: roll
// out on a test OU first).
func (p Policy) Terraform(opts Options) ([]byte, error) {
	doc, err := p.Render(opts)
	if err != nil {
		return nil, err
	}
	id := TerraformName(p.Name)
	var b bytes.Buffer
	fmt.Fprintf(&b, "resource \"aws_organizations_policy\" %s {\n", hclString(id))
	fmt.Fprintf(&b, "  name        = %s\n", hclString("bks-"+p.Name))
	fmt.Fprintf(&b, "  description = %s\n", hclString(truncate(p.Summary, 512)))
	fmt.Fprintf(&b, "  type        = \"SERVICE_CONTROL_POLICY\"\n")
	b.WriteString("  content     = <<-EOT\n")
	for _, line := range strings.Split(strings.TrimRight(string(doc), "\n"), "\n") {
		b.WriteString("    ")
		b.WriteString(escapeTemplate(line))
		b.WriteByte('\n')
	}
	b.WriteString("  EOT\n}\n\n")
	b.WriteString("# Attach to a test OU first, then widen (see docs/SCP.md):\n")
	fmt.Fprintf(&b, "# resource \"aws_organizations_policy_attachment\" %s {\n", hclString(id+"_test_ou"))
	fmt.Fprintf(&b, "#   policy_id = aws_organizations_policy.%s.id\n", id)
	b.WriteString("#   target_id = \"ou-xxxx-xxxxxxxx\"\n# }\n")
	return b.Bytes(), nil
}

// TerraformName is the resource name bks uses for a policy.
func TerraformName(policy string) string {
	return "bks_" + strings.ReplaceAll(policy, "-", "_")
}

// hclString quotes s as an HCL string literal with no interpolation.
func hclString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, r)
				continue
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return escapeTemplate(b.String())
}

// escapeTemplate stops HCL from reading ${ or %{ as template sequences.
func escapeTemplate(s string) string {
	return strings.NewReplacer("${", "$${", "%{", "%%{").Replace(s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
