package awslambda

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/kappa-serverless/kappa/lambda"
)

// Config tunes an Invoker. Zero values take the defaults noted.
type Config struct {
	// Function is the function name or ARN invoked when an Invocation names
	// none.
	Function string
	// Region of the function; default the SDK's (AWS_REGION, the profile).
	// Required for AWS; with an Endpoint it defaults to "local".
	Region string
	// Endpoint is the Lambda API's base URL instead of AWS's, e.g.
	// http://127.0.0.1:9001 for `kappa lambda-local`.
	Endpoint string
	// Credentials; default: with an Endpoint, static dummy credentials (a
	// `kappa lambda-local --insecure` checks none) and nothing read from
	// the environment; without, the SDK's default chain (environment,
	// shared files, SSO, container or instance role).
	Credentials aws.CredentialsProvider
	// TLS configures HTTPS to the Endpoint (say, trusting the cluster's CA
	// for `kappa lambda-local`); nil: the system's roots.
	TLS *tls.Config

	// Timeout bounds one attempt of an invocation that sets no Timeout: it
	// must exceed the function's own timeout, since a synchronous Invoke
	// answers only when the function ends. Default 15m30s (Lambda's maximum
	// plus a margin). An Invocation's Timeout gives Timeout+AttemptMargin.
	Timeout time.Duration
	// AttemptMargin is added to an Invocation's Timeout for the network and
	// a cold start; default 30s.
	AttemptMargin time.Duration
	// RetryFor bounds the time spent retrying one invocation (throttling,
	// service errors, an unreachable endpoint); default 2m.
	RetryFor time.Duration
	// BackoffMin and BackoffMax bound the wait between attempts, which
	// doubles from BackoffMin with jitter; defaults 50ms and 5s.
	BackoffMin time.Duration
	BackoffMax time.Duration

	Logger *slog.Logger // default slog.Default()
}

const (
	defaultTimeout       = lambda.DefaultTimeout + 30*time.Second
	defaultAttemptMargin = 30 * time.Second
	defaultRetryFor      = 2 * time.Minute
	defaultBackoffMin    = 50 * time.Millisecond
	defaultBackoffMax    = 5 * time.Second
	localRegion          = "local"
)

func (c Config) withDefaults() (Config, error) {
	if c.Timeout == 0 {
		c.Timeout = defaultTimeout
	}
	if c.AttemptMargin == 0 {
		c.AttemptMargin = defaultAttemptMargin
	}
	if c.RetryFor == 0 {
		c.RetryFor = defaultRetryFor
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = defaultBackoffMin
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = defaultBackoffMax
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Timeout < 0 || c.AttemptMargin < 0 || c.RetryFor < 0 || c.BackoffMin < 0 || c.BackoffMax < c.BackoffMin {
		return c, errors.New("aws lambda config: durations must not be negative, and BackoffMax not below BackoffMin")
	}
	return c, nil
}

// NewAPIClient builds an SDK client for Lambda's control plane (creating
// and updating functions): region, endpoint and credentials as for an
// Invoker, with the SDK's own retries.
func NewAPIClient(ctx context.Context, region, endpoint string) (*lambdasdk.Client, error) {
	return buildClient(ctx, &Config{Region: region, Endpoint: endpoint}, true)
}

// newClient builds the SDK client: retries off (the Invoker retries), the
// endpoint overridden when one is given.
func newClient(ctx context.Context, c *Config) (*lambdasdk.Client, error) {
	return buildClient(ctx, c, false)
}

func buildClient(ctx context.Context, c *Config, sdkRetries bool) (*lambdasdk.Client, error) {
	var awsCfg aws.Config
	if c.Endpoint != "" {
		// Nothing from the environment: the endpoint and its credentials
		// are all there is.
		creds := c.Credentials
		if creds == nil {
			creds = credentials.NewStaticCredentialsProvider("kappa-local", "kappa-local", "")
		}
		awsCfg = aws.Config{Region: c.Region, Credentials: creds}
	} else {
		var opts []func(*config.LoadOptions) error
		if c.Region != "" {
			opts = append(opts, config.WithRegion(c.Region))
		}
		if c.Credentials != nil {
			opts = append(opts, config.WithCredentialsProvider(c.Credentials))
		}
		var err error
		if awsCfg, err = config.LoadDefaultConfig(ctx, opts...); err != nil {
			return nil, fmt.Errorf("aws lambda: load AWS configuration: %w", err)
		}
	}
	if awsCfg.Region == "" {
		if c.Endpoint == "" {
			return nil, errors.New("aws lambda: no AWS region: pass --region or set AWS_REGION")
		}
		awsCfg.Region = localRegion
	}
	c.Region = awsCfg.Region
	if c.TLS != nil {
		tlsCfg := c.TLS
		awsCfg.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) { tr.TLSClientConfig = tlsCfg })
	}
	return lambdasdk.NewFromConfig(awsCfg, func(o *lambdasdk.Options) {
		if !sdkRetries {
			o.Retryer = aws.NopRetryer{}
		}
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	}), nil
}
