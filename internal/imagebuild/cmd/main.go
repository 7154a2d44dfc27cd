// Command cmd is `make image`'s builder: it packages a static Linux bks
// binary as an OCI image (internal/imagebuild), writes it as an OCI layout
// and a `docker load` tarball under -out, and pushes it when -push names a
// repository. It prints the image digest. Run through `make image`, which
// builds the binary with the release flags and passes the commit's facts.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/bks-dev/bks/internal/imagebuild"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

type options struct {
	binary, caCerts, version, revision, source, created, out, push, base string
}

func run(ctx context.Context, args []string) error {
	var o options
	fs := flag.NewFlagSet("imagebuild", flag.ContinueOnError)
	fs.StringVar(&o.binary, "binary", "", "the static Linux bks binary (required)")
	fs.StringVar(&o.caCerts, "ca-certs", "", "PEM CA bundle to copy into the image (default: this machine's, e.g. /etc/ssl/certs/ca-certificates.crt)")
	fs.StringVar(&o.version, "version", "dev", "the version the binary was built with (label and tag)")
	fs.StringVar(&o.revision, "revision", "", "the commit (label)")
	fs.StringVar(&o.source, "source", "https://github.com/bks-dev/bks", "the source repository (label)")
	fs.StringVar(&o.created, "created", "0", "the commit time, Unix seconds or RFC 3339: every timestamp in the image, so builds are reproducible")
	fs.StringVar(&o.out, "out", "bin/image", "directory for oci/ (an OCI layout) and bks.tar (a docker load tarball)")
	fs.StringVar(&o.base, "base", "", "build on this image (pulled; e.g. one with git, which `bks detect github` runs) instead of the empty base")
	fs.StringVar(&o.push, "push", "", "push to this REGISTRY/REPO[:TAG] (default tag: -version)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.binary == "" || fs.NArg() > 0 {
		return errors.New("usage: imagebuild -binary PATH [-version V -revision SHA -created TIME -out DIR -push REPO]")
	}
	return build(ctx, o)
}

func build(ctx context.Context, o options) error {
	created, err := parseTime(o.created)
	if err != nil {
		return err
	}
	bin, err := os.ReadFile(o.binary)
	if err != nil {
		return err
	}
	certs, certsFrom, err := readCerts(o.caCerts)
	if err != nil {
		return err
	}
	opts := imagebuild.Options{
		Binary: bin, CACerts: certs, Version: o.version, Revision: o.revision, Source: o.source, Created: created,
	}
	if o.base != "" {
		arch, err := imagebuild.BinaryArch(bin)
		if err != nil {
			return err
		}
		if opts.Base, err = imagebuild.PullBase(ctx, o.base, arch); err != nil {
			return err
		}
	}
	img, err := imagebuild.Build(opts)
	if err != nil {
		return err
	}
	tag := tagFor(o.version)
	if err := imagebuild.WriteLayout(filepath.Join(o.out, "oci"), tag, img); err != nil {
		return err
	}
	if err := imagebuild.WriteTarball(filepath.Join(o.out, "bks.tar"), "bks:"+tag, img); err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("image %s (CA bundle from %s)\n  %s\n  %s\n", d, certsFrom, filepath.Join(o.out, "oci"), filepath.Join(o.out, "bks.tar"))
	if o.push == "" {
		return nil
	}
	ref := o.push
	if !hasTagOrDigest.MatchString(ref) {
		ref += ":" + tag
	}
	pushed, err := imagebuild.Push(ctx, ref, img)
	if err != nil {
		return err
	}
	fmt.Printf("pushed %s\n", pushed)
	return nil
}

// hasTagOrDigest matches a reference that ends in :TAG or @DIGEST (a
// registry's :PORT is followed by a slash, so it does not match).
var hasTagOrDigest = regexp.MustCompile(`(:[\w][\w.-]*|@[a-z0-9]+:[a-f0-9]+)$`)

var notTagChar = regexp.MustCompile(`[^\w.-]`)

// tagFor turns a version into a valid tag: `git describe` output is one,
// anything else (a "+build" suffix, say) has its other characters replaced.
func tagFor(version string) string {
	t := notTagChar.ReplaceAllString(version, "-")
	if t == "" || t[0] == '.' || t[0] == '-' {
		t = "v" + t
	}
	if len(t) > 128 {
		t = t[:128]
	}
	return t
}

func parseTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("-created %q: neither Unix seconds nor RFC 3339", s)
	}
	return t.UTC(), nil
}

func readCerts(path string) ([]byte, string, error) {
	if path == "" {
		return imagebuild.ReadCACerts()
	}
	data, err := os.ReadFile(path)
	return data, path, err
}
