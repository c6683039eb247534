package main

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
)

func (a *cli) deploymentsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "deployments", Aliases: []string{"deployment"}, Short: "Record the versions deployed to each environment, as CI does, and list them"}
	cmd.AddCommand(a.deploymentRecordCommand(), a.deploymentListCommand())
	return cmd
}

func (a *cli) deploymentRecordCommand() *cobra.Command {
	var env, version, url, at string
	record := &cobra.Command{
		Use:   "record --environment E --version V [--url U] [--time T]",
		Short: "Record that a version went live in an environment (a runner token may); recording the same one again changes nothing",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if env == "" || version == "" {
				return usageErrorf("--environment and --version are required")
			}
			body := openapi.DeploymentRecord{Environment: env, Version: version}
			if cmd.Flags().Changed("url") {
				body.Url = new(url)
			}
			var err error
			if cmd.Flags().Changed("time") {
				if body.DeployedAt, err = timeFlag("time", at, a.now()); err != nil {
					return err
				}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.RecordDeploymentWithResponse(cmd.Context(), body)
			if err == nil && resp.StatusCode() == http.StatusOK {
				fmt.Fprintln(a.stderr, "understudy: this deployment was already recorded; nothing changed")
			}
			return showReply(a, resp, err, func(w io.Writer, d openapi.Deployment) { deploymentTable(w, d) })
		},
	}
	fs := record.Flags()
	fs.StringVar(&env, "environment", "", "the environment deployed to (required)")
	fs.StringVar(&version, "version", "", "what was deployed: a tag, a commit, an image digest (required)")
	fs.StringVar(&url, "url", "", "an http or https URL of the pipeline or release")
	fs.StringVar(&at, "time", "", "when it went live, RFC 3339 (default now); give the same time to make a retried step record nothing new")
	return record
}

func (a *cli) deploymentListCommand() *cobra.Command {
	var env, since, until, before string
	var limit int
	list := &cobra.Command{
		Use:   "list [--environment E] [--since T] [--until T] [--limit N] [--before ID]",
		Short: "List deployments, newest first",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var p openapi.ListDeploymentsParams
			set := cmd.Flags().Changed
			if set("environment") {
				p.Environment = new(env)
			}
			var err error
			if set("since") {
				if p.Since, err = timeFlag("since", since, a.now()); err != nil {
					return err
				}
			}
			if set("until") {
				if p.Until, err = timeFlag("until", until, a.now()); err != nil {
					return err
				}
			}
			if set("before") {
				p.Before = new(before)
			}
			if set("limit") {
				p.Limit = new(limit)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.ListDeploymentsWithResponse(cmd.Context(), &p)
			return showReply(a, resp, err, func(w io.Writer, l openapi.DeploymentList) {
				deploymentTable(w, l.Items...)
				if l.NextBefore != nil {
					fmt.Fprintf(a.stderr, "understudy: more deployments follow: add --before %s\n", *l.NextBefore)
				}
			})
		},
	}
	fs := list.Flags()
	fs.StringVar(&env, "environment", "", "only the deployments of this environment")
	fs.StringVar(&since, "since", "", "only the deployments at or after this RFC 3339 time")
	fs.StringVar(&until, "until", "", "only the deployments before this RFC 3339 time")
	fs.StringVar(&before, "before", "", "only the deployments after this one in the list (to page on)")
	fs.IntVar(&limit, "limit", 0, "at most this many deployments, 1-1000 (default 100)")
	return list
}

func deploymentTable(w io.Writer, list ...openapi.Deployment) {
	row(w, "ID", "ENVIRONMENT", "VERSION", "DEPLOYED AT", "RECORDED BY", "URL")
	for _, d := range list {
		url := ""
		if d.Url != nil {
			url = *d.Url
		}
		row(w, d.Id, d.Environment, d.Version, d.DeployedAt.UTC().Format(time.RFC3339), d.RecordedBy, orDash(url))
	}
}
