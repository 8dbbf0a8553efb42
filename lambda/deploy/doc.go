// Package deploy builds the worker function's zip for AWS Lambda's managed
// Python runtime and creates or updates the function through
// aws-sdk-go-v2's Lambda client. One deployed function serves every job:
// programs travel by content hash through the checkpoint store, never in
// the zip.
package deploy
