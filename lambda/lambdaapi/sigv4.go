package lambdaapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Credentials are the static access key the Invoke API accepts: a request
// must carry AWS Signature Version 4 made with them, as AWS Lambda wants.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// maxSkew is how far a signature's time may be from the server's clock
// (Lambda's rule).
const maxSkew = 5 * time.Minute

const (
	sigAlgorithm = "AWS4-HMAC-SHA256"
	amzDate      = "X-Amz-Date"
	dateFormat   = "20060102T150405Z"
)

// verifySignature checks r's SigV4 signature over body by computing it
// again with aws-sdk-go-v2's signer from the headers the caller says it
// signed, and answers as Lambda does when it does not hold.
func verifySignature(creds Credentials, r *http.Request, body []byte, now time.Time) *apiError {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return missingToken()
	}
	parts, ok := parseAuthorization(auth)
	if !ok {
		return incompleteSignature("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters of " + sigAlgorithm)
	}
	scope := strings.Split(parts["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return incompleteSignature("Credential should be scoped to a valid region, service and 'aws4_request'")
	}
	keyID, day, region, service := scope[0], scope[1], scope[2], scope[3]
	if !hmac.Equal([]byte(keyID), []byte(creds.AccessKeyID)) {
		return unrecognizedClient()
	}
	signedAt, err := time.Parse(dateFormat, r.Header.Get(amzDate))
	if err != nil || signedAt.Format("20060102") != day || service != "lambda" {
		return badSignature()
	}
	if d := now.Sub(signedAt); d > maxSkew || d < -maxSkew {
		return &apiError{http.StatusForbidden, "InvalidSignatureException", map[string]string{"message": fmt.Sprintf(
			"Signature expired: %s is now earlier than %s (%s - 5 min.)", signedAt.Format(dateFormat),
			now.Add(-maxSkew).UTC().Format(dateFormat), now.UTC().Format(dateFormat))}}
	}
	// The request as the caller signed it: only the headers it lists.
	again := &http.Request{
		Method:        r.Method,
		URL:           &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery},
		Host:          r.Host,
		Header:        http.Header{},
		ContentLength: int64(len(body)),
	}
	for _, h := range strings.Split(parts["SignedHeaders"], ";") {
		switch h {
		case "host", "content-length":
		default:
			if v, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
				again.Header[http.CanonicalHeaderKey(h)] = v
			}
		}
	}
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey},
		again, hex.EncodeToString(sum[:]), service, region, signedAt)
	if err != nil || !hmac.Equal([]byte(again.Header.Get("Authorization")), []byte(auth)) {
		return badSignature()
	}
	return nil
}

// Sign signs r (whose body is body) with creds as the SDK does, for
// callers that are not the SDK: tests, and fault injectors asking for
// WorkersPath.
func Sign(r *http.Request, body []byte, creds Credentials, region string) error {
	sum := sha256.Sum256(body)
	return v4.NewSigner().SignHTTP(r.Context(), aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey},
		r, hex.EncodeToString(sum[:]), "lambda", region, time.Now())
}

// parseAuthorization splits "AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
// Signature=…".
func parseAuthorization(h string) (map[string]string, bool) {
	rest, ok := strings.CutPrefix(h, sigAlgorithm+" ")
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for _, kv := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if ok {
			out[k] = v
		}
	}
	return out, out["Credential"] != "" && out["SignedHeaders"] != "" && out["Signature"] != ""
}

// Lambda's answers to requests it cannot authenticate.

func missingToken() *apiError {
	return &apiError{http.StatusForbidden, "MissingAuthenticationTokenException", map[string]string{"message": "Missing Authentication Token"}}
}

func incompleteSignature(msg string) *apiError {
	return &apiError{http.StatusForbidden, "IncompleteSignatureException", map[string]string{"message": msg}}
}

func unrecognizedClient() *apiError {
	return &apiError{http.StatusForbidden, "UnrecognizedClientException", map[string]string{"message": "The security token included in the request is invalid."}}
}

func badSignature() *apiError {
	return &apiError{http.StatusForbidden, "InvalidSignatureException", map[string]string{"message": "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}}
}
