package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/bks-dev/bks/internal/cli/cmdutil"
	"github.com/bks-dev/bks/sources/image"
)

func newCmdDetectImage(f *cmdutil.Factory, opts *detectOptions) *cobra.Command {
	sio := f.IO
	var o image.Options
	cmd := &cobra.Command{
		Use:   "image [REF...]",
		Short: "Scan container images: every layer, config and history",
		Long: `Scan container images in a registry (REF is registry/repo:tag or
registry/repo@sha256:…), or saved to disk with --tarball (a "docker save"
tarball, an OCI layout directory or a tarball of one).

Every file of every layer is scanned, including files a later layer deletes
or overwrites: a key removed by a later "RUN rm .env" is still in the image,
and is reported with the layer digest, the history command that created the
layer, and "not in final image" (in_head false in JSON). The
image config is scanned too (Config.Env, labels, Cmd, Entrypoint, and the
history's commands, as "docker history" shows them). A multi-arch index is
scanned for every platform, or only --platform; layers shared by platforms
are scanned once. --workers images are scanned at once (the layers of one
image are read in turn).

Each layer is bounded by the archive limits (--archive-max-total-bytes of
uncompressed bytes, --archive-max-ratio, --archive-max-entries files); a
layer or image that cannot be read is reported on stderr and the sweep goes
on (exit 2 at the end unless --ignore-errors).

Credentials come from the Docker config (~/.docker/config.json, $DOCKER_CONFIG)
and its credential helpers, as "docker login" leaves them; --registry-token
(or $BKS_REGISTRY_TOKEN) sends a bearer token instead; anonymous otherwise.
Registries on localhost, loopback and private (RFC 1918) addresses are
spoken to in plain HTTP, others in HTTPS.`,
		Example: `  bks detect image ghcr.io/acme/app:1.4 registry.example.com/ml/demo@sha256:…
  bks detect image --platform linux/amd64 docker.io/acme/app:latest
  docker save acme/app:dev -o app.tar && bks detect image --tarball app.tar`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Refs = args
			if len(o.Refs) == 0 && len(o.Tarballs) == 0 {
				return errors.New("detect image: name an image (REF) or --tarball PATH")
			}
			if o.Token == "" {
				o.Token = sio.Env("BKS_REGISTRY_TOKEN")
			}
			eng, err := opts.newEngine()
			if err != nil {
				return err
			}
			errs := &errorCollector{w: sio.Err}
			o.OnError = errs.handle
			o.Workers = opts.Workers
			o.MaxFileSize = opts.MaxFileSize
			o.NoArchives = opts.NoArchives
			o.ArchiveLimits = opts.archiveLimits()
			src := image.New(o)
			return runDetect(cmd.Context(), sio, opts, eng, src, errs)
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&o.Tarballs, "tarball", nil, "scan an image saved to disk: docker save tarball, OCI layout directory or tarball (repeatable)")
	fs.StringVar(&o.Platform, "platform", "", "scan only this platform of multi-arch images (os/arch[/variant], e.g. linux/arm64); default: all")
	fs.StringVar(&o.Token, "registry-token", "", "registry bearer token (default: $BKS_REGISTRY_TOKEN, else the Docker config and credential helpers, else anonymous)")
	return cmd
}
