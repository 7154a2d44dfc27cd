package cli

import "github.com/spf13/cobra"

func newCmdDetect(io *IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "detect",
		Short: "Find Bedrock API keys in files, stdin, git history and GitHub",
	}
	return cmd
}
