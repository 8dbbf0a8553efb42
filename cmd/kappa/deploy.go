package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kappa-serverless/kappa/lambda/awslambda"
	"github.com/kappa-serverless/kappa/lambda/deploy"
)

type deployOptions struct {
	fn           deploy.Function
	requirements string
	region       string
	endpoint     string
	dryRun       bool
	output       string
	python       string
	pipArgs      []string
}

func newDeployCmd() *cobra.Command {
	var o deployOptions
	cmd := &cobra.Command{
		Use:   "deploy --function NAME [--role ARN] [--requirements FILE] [--memory MB] [--timeout S] [--region R]",
		Short: "Build the worker function's zip and create or update it on AWS Lambda",
		Long: `Builds the worker function's zip for Lambda's managed ` + deploy.Runtime + ` runtime
(the kappa package, its dependencies as manylinux x86_64 wheels and the
libraries in --requirements; handler ` + deploy.Handler + `), creates the
function (--role is required then) or updates its code and configuration,
sets its asynchronous retries to zero (the coordinator relaunches tasks
itself) and waits until it is active. One function serves every job:
programs are fetched by content hash, so deploy again only to change the
runtime or the libraries in the zip.

--dry-run builds the zip, writes it to -o FILE and prints the API calls it
would make, contacting nothing.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return runDeploy(o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.fn.Name, "function", "", "the worker function's name (required)")
	f.StringVar(&o.fn.Role, "role", "", "execution role ARN (required to create the function)")
	f.Int32Var(&o.fn.MemoryMB, "memory", 1024, "memory size in MB (128-10240)")
	f.Int32Var(&o.fn.TimeoutS, "timeout", 900, "time limit of one invocation in seconds (1-900); pass the same to the coordinator's --lambda-timeout")
	f.StringSliceVar(&o.fn.Subnets, "subnets", nil, "VPC subnet ids for the function (with --security-groups)")
	f.StringSliceVar(&o.fn.SecurityGroups, "security-groups", nil, "VPC security group ids for the function (with --subnets)")
	f.StringVar(&o.requirements, "requirements", "", "requirements.txt of libraries to put in the zip")
	f.StringVar(&o.region, "region", "", "AWS region (default: AWS_REGION or the profile's)")
	f.StringVar(&o.endpoint, "endpoint", "", "Lambda API endpoint URL instead of AWS's (testing)")
	f.BoolVar(&o.dryRun, "dry-run", false, "build the zip and print the API calls without making them")
	f.StringVarP(&o.output, "output", "o", "", "also write the zip to this file")
	f.StringVar(&o.python, "python", "", pythonHelp+"; it runs pip")
	f.StringArrayVar(&o.pipArgs, "pip-arg", nil, "extra argument for pip, repeatable (e.g. --pip-arg=--index-url=URL)")
	return cmd
}

func runDeploy(o deployOptions) error {
	if err := o.fn.Check(); err != nil {
		return usageError("%v", err)
	}
	if o.dryRun && o.output == "" {
		return usageError("--dry-run needs -o FILE to write the zip to")
	}
	ctx, stop := signalContext()
	defer stop()
	say := func(s string) { fmt.Fprintln(os.Stderr, "kappa deploy: "+s) }
	zipFile, err := deploy.BuildZip(ctx, deploy.ZipOptions{
		Python: pythonPath(o.python), Requirements: o.requirements, PipArgs: o.pipArgs, Log: say,
	})
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	say(fmt.Sprintf("zip: %d bytes", len(zipFile)))
	if o.output != "" {
		if err := os.WriteFile(o.output, zipFile, 0o644); err != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("writing -o %s: %v", o.output, err)}
		}
		say("wrote " + o.output)
	}
	if o.dryRun {
		for _, line := range o.fn.Plan(len(zipFile)) {
			fmt.Println(line)
		}
		return nil
	}
	client, err := awslambda.NewAPIClient(ctx, o.region, o.endpoint)
	if err != nil {
		return usageError("%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	res, err := deploy.Deploy(ctx, client, o.fn, zipFile, say)
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	verb := "updated"
	if res.Created {
		verb = "created"
	}
	fmt.Printf("function %s %s and active: %s (code sha256 %s)\n", o.fn.Name, verb, res.ARN, res.CodeSHA)
	fmt.Printf("run the coordinator with: kappa server --lambda aws --function %s --lambda-timeout %ds ...\n", o.fn.Name, o.fn.TimeoutS)
	return nil
}
