package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	lambdasdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"
)

// API is the part of the Lambda client a deploy uses (*lambda.Client).
type API interface {
	lambdasdk.GetFunctionAPIClient
	CreateFunction(context.Context, *lambdasdk.CreateFunctionInput, ...func(*lambdasdk.Options)) (*lambdasdk.CreateFunctionOutput, error)
	UpdateFunctionCode(context.Context, *lambdasdk.UpdateFunctionCodeInput, ...func(*lambdasdk.Options)) (*lambdasdk.UpdateFunctionCodeOutput, error)
	UpdateFunctionConfiguration(context.Context, *lambdasdk.UpdateFunctionConfigurationInput, ...func(*lambdasdk.Options)) (*lambdasdk.UpdateFunctionConfigurationOutput, error)
	PutFunctionEventInvokeConfig(context.Context, *lambdasdk.PutFunctionEventInvokeConfigInput, ...func(*lambdasdk.Options)) (*lambdasdk.PutFunctionEventInvokeConfigOutput, error)
}

// maxDirectZip is the largest zip Lambda takes inline (ZipFile) rather
// than from S3.
const maxDirectZip = 50 << 20

// Function is the worker function's configuration.
type Function struct {
	Name     string
	Role     string // execution role ARN; required to create the function
	MemoryMB int32
	TimeoutS int32
	// Subnets and SecurityGroups put the function in a VPC (both or none).
	Subnets        []string
	SecurityGroups []string
	// Wait bounds each wait for the function to become active or updated
	// (default 5m); PollMin is the waiters' first delay (default 1s).
	Wait    time.Duration
	PollMin time.Duration
}

// Check rejects a configuration Lambda would refuse, naming the flag.
func (f Function) Check() error {
	switch {
	case f.Name == "":
		return errors.New("--function is required: the worker function's name")
	case f.MemoryMB < 128 || f.MemoryMB > 10240:
		return fmt.Errorf("--memory %d: Lambda takes 128 to 10240 MB", f.MemoryMB)
	case f.TimeoutS < 1 || f.TimeoutS > 900:
		return fmt.Errorf("--timeout %d: Lambda takes 1 to 900 seconds", f.TimeoutS)
	case (len(f.Subnets) == 0) != (len(f.SecurityGroups) == 0):
		return errors.New("--subnets and --security-groups go together: a function in a VPC needs both")
	}
	return nil
}

// Plan describes the calls Deploy makes, for --dry-run.
func (f Function) Plan(zipBytes int) []string {
	vpc := "no VPC"
	if len(f.Subnets) > 0 {
		vpc = fmt.Sprintf("VPC subnets %v, security groups %v", f.Subnets, f.SecurityGroups)
	}
	conf := fmt.Sprintf("Runtime=%s Handler=%s MemorySize=%d Timeout=%d Architectures=[x86_64] %s", Runtime, Handler, f.MemoryMB, f.TimeoutS, vpc)
	return []string{
		fmt.Sprintf("GetFunction FunctionName=%s (does it exist?)", f.Name),
		fmt.Sprintf("if not: CreateFunction FunctionName=%s Role=%s %s ZipFile=<%d bytes>, then wait until State=Active", f.Name, orUnset(f.Role), conf, zipBytes),
		fmt.Sprintf("if so:  UpdateFunctionCode FunctionName=%s ZipFile=<%d bytes>, wait until LastUpdateStatus=Successful;", f.Name, zipBytes),
		fmt.Sprintf("        UpdateFunctionConfiguration FunctionName=%s %s, wait until LastUpdateStatus=Successful", f.Name, conf),
		fmt.Sprintf("PutFunctionEventInvokeConfig FunctionName=%s MaximumRetryAttempts=0 (the coordinator relaunches; Lambda must not)", f.Name),
		fmt.Sprintf("GetFunction FunctionName=%s until State=Active", f.Name),
	}
}

func orUnset(s string) string {
	if s == "" {
		return "(none given: required to create)"
	}
	return s
}

// Result says what Deploy did.
type Result struct {
	Created  bool
	ARN      string
	CodeSHA  string
	Function *types.FunctionConfiguration
}

// Deploy creates the function, or updates its code and configuration,
// turns off Lambda's asynchronous retries and waits until it is active.
func Deploy(ctx context.Context, api API, f Function, zipFile []byte, log func(string)) (Result, error) {
	if err := f.Check(); err != nil {
		return Result{}, err
	}
	if len(zipFile) > maxDirectZip {
		return Result{}, fmt.Errorf("the function zip is %d MB; Lambda takes at most 50 MB directly: move large --requirements into a Lambda layer or install them per program", len(zipFile)>>20)
	}
	if log == nil {
		log = func(string) {}
	}
	if f.Wait == 0 {
		f.Wait = 5 * time.Minute
	}
	if f.PollMin == 0 {
		f.PollMin = time.Second
	}
	name := aws.String(f.Name)
	var res Result
	_, err := api.GetFunction(ctx, &lambdasdk.GetFunctionInput{FunctionName: name})
	var missing *types.ResourceNotFoundException
	switch {
	case errors.As(err, &missing):
		if f.Role == "" {
			return res, fmt.Errorf("function %s does not exist yet: pass --role ARN (its execution role) to create it", f.Name)
		}
		log("CreateFunction " + f.Name)
		out, err := api.CreateFunction(ctx, &lambdasdk.CreateFunctionInput{
			FunctionName:  name,
			Role:          aws.String(f.Role),
			Runtime:       types.RuntimePython311,
			Handler:       aws.String(Handler),
			Code:          &types.FunctionCode{ZipFile: zipFile},
			MemorySize:    aws.Int32(f.MemoryMB),
			Timeout:       aws.Int32(f.TimeoutS),
			Architectures: []types.Architecture{types.ArchitectureX8664},
			PackageType:   types.PackageTypeZip,
			VpcConfig:     f.vpc(),
			Description:   aws.String("Kappa worker: runs tasks of any Kappa job"),
		})
		if err != nil {
			return res, apiError("CreateFunction", f.Name, err)
		}
		res.Created = true
		res.ARN = aws.ToString(out.FunctionArn)
		log("waiting until " + f.Name + " is active")
		if err := f.waitActive(ctx, api); err != nil {
			return res, err
		}
	case err != nil:
		return res, apiError("GetFunction", f.Name, err)
	default:
		log("UpdateFunctionCode " + f.Name)
		if _, err := api.UpdateFunctionCode(ctx, &lambdasdk.UpdateFunctionCodeInput{FunctionName: name, ZipFile: zipFile}); err != nil {
			return res, apiError("UpdateFunctionCode", f.Name, err)
		}
		if err := f.waitUpdated(ctx, api); err != nil {
			return res, err
		}
		log("UpdateFunctionConfiguration " + f.Name)
		in := &lambdasdk.UpdateFunctionConfigurationInput{
			FunctionName: name, Runtime: types.RuntimePython311, Handler: aws.String(Handler),
			MemorySize: aws.Int32(f.MemoryMB), Timeout: aws.Int32(f.TimeoutS), VpcConfig: f.vpc(),
		}
		if f.Role != "" {
			in.Role = aws.String(f.Role)
		}
		if _, err := api.UpdateFunctionConfiguration(ctx, in); err != nil {
			return res, apiError("UpdateFunctionConfiguration", f.Name, err)
		}
		if err := f.waitUpdated(ctx, api); err != nil {
			return res, err
		}
	}
	log("PutFunctionEventInvokeConfig " + f.Name + " MaximumRetryAttempts=0")
	if _, err := api.PutFunctionEventInvokeConfig(ctx, &lambdasdk.PutFunctionEventInvokeConfigInput{
		FunctionName: name, MaximumRetryAttempts: aws.Int32(0),
	}); err != nil {
		return res, apiError("PutFunctionEventInvokeConfig", f.Name, err)
	}
	if err := f.waitActive(ctx, api); err != nil {
		return res, err
	}
	out, err := api.GetFunction(ctx, &lambdasdk.GetFunctionInput{FunctionName: name})
	if err != nil {
		return res, apiError("GetFunction", f.Name, err)
	}
	res.Function = out.Configuration
	res.ARN = aws.ToString(out.Configuration.FunctionArn)
	res.CodeSHA = aws.ToString(out.Configuration.CodeSha256)
	return res, nil
}

func (f Function) vpc() *types.VpcConfig {
	if len(f.Subnets) == 0 {
		return nil
	}
	return &types.VpcConfig{SubnetIds: f.Subnets, SecurityGroupIds: f.SecurityGroups}
}

func (f Function) waitActive(ctx context.Context, api API) error {
	w := lambdasdk.NewFunctionActiveV2Waiter(api, func(o *lambdasdk.FunctionActiveV2WaiterOptions) {
		o.MinDelay = f.PollMin
		o.MaxDelay = max(f.PollMin, 5*time.Second)
	})
	if err := w.Wait(ctx, &lambdasdk.GetFunctionInput{FunctionName: aws.String(f.Name)}, f.Wait); err != nil {
		return fmt.Errorf("function %s did not become active: %w (see its State and StateReason in the Lambda console)", f.Name, err)
	}
	return nil
}

func (f Function) waitUpdated(ctx context.Context, api API) error {
	w := lambdasdk.NewFunctionUpdatedV2Waiter(api, func(o *lambdasdk.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay = f.PollMin
		o.MaxDelay = max(f.PollMin, 5*time.Second)
	})
	if err := w.Wait(ctx, &lambdasdk.GetFunctionInput{FunctionName: aws.String(f.Name)}, f.Wait); err != nil {
		return fmt.Errorf("function %s did not finish updating: %w (see LastUpdateStatusReason in the Lambda console)", f.Name, err)
	}
	return nil
}

// apiError names the call and, for the errors a user can fix, what to do.
func apiError(call, fn string, err error) error {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return fmt.Errorf("%s %s: %w", call, fn, err)
	}
	switch code := api.ErrorCode(); {
	case code == "AccessDeniedException" || code == "AccessDenied":
		return fmt.Errorf("%s %s: access denied: the deploying identity needs lambda:%s on the function (and iam:PassRole on its role): %s", call, fn, call, api.ErrorMessage())
	case code == "UnrecognizedClientException" || code == "InvalidSignatureException" || strings.HasPrefix(code, "ExpiredToken"):
		return fmt.Errorf("%s %s: AWS credentials rejected (%s): check AWS_PROFILE or AWS_ACCESS_KEY_ID and the region", call, fn, code)
	case code == "InvalidParameterValueException":
		return fmt.Errorf("%s %s: %s", call, fn, api.ErrorMessage())
	}
	return fmt.Errorf("%s %s: %w", call, fn, err)
}
