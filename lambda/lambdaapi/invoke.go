package lambdaapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/kappa-serverless/kappa/lambda"
	"github.com/kappa-serverless/kappa/lambda/local"
)

// Lambda's payload limits.
const (
	maxSyncPayload  = 6 << 20 // request and response of a RequestResponse invocation
	maxAsyncPayload = 1 << 20 // request of an Event invocation
	// maxResponse is the response size Lambda still returns; a larger one
	// becomes a function error.
	maxResponse = 6291556
)

// The invocation types, as in X-Amz-Invocation-Type.
const (
	requestResponse = "RequestResponse"
	event           = "Event"
	dryRun          = "DryRun"
)

// invoke serves POST /2015-03-31/functions/{name}/invocations.
func (s *Server) invoke(w http.ResponseWriter, r *http.Request) {
	requestID := lambda.NewRequestID()
	name, qualifier := splitFunction(r.PathValue("name"))
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		qualifier = q
	}
	fn := s.cfg.Functions[name]
	// Only $LATEST exists locally: there are no published versions or aliases.
	if fn == nil || (qualifier != "" && qualifier != "$LATEST") {
		functionNotFound(s.arn(name, qualifier)).write(w, requestID)
		return
	}
	invType := r.Header.Get("X-Amz-Invocation-Type")
	if invType == "" {
		invType = requestResponse
	}
	logType := r.Header.Get("X-Amz-Log-Type")
	if err := checkTypes(invType, logType); err != nil {
		err.write(w, requestID)
		return
	}
	limit := int64(maxSyncPayload)
	if invType == event {
		limit = maxAsyncPayload
	}
	payload, apiErr := readPayload(w, r, limit)
	if apiErr != nil {
		apiErr.write(w, requestID)
		return
	}
	inv := lambda.Invocation{Function: name, Payload: payload}
	switch invType {
	case dryRun:
		w.Header().Set("X-Amzn-RequestId", requestID)
		w.WriteHeader(http.StatusNoContent)
	case event:
		if !s.enqueue(fn, requestID, inv) {
			serviceError(errors.New("the local lambda platform is shutting down")).write(w, requestID)
			return
		}
		w.Header().Set("X-Amzn-RequestId", requestID)
		w.WriteHeader(http.StatusAccepted)
	default:
		s.runSync(w, fn, requestID, inv, logType == "Tail")
	}
}

// runSync runs a RequestResponse invocation and writes Lambda's answer.
func (s *Server) runSync(w http.ResponseWriter, fn *local.Platform, requestID string, inv lambda.Invocation, tail bool) {
	// The server's context, not the request's: as on Lambda, a caller that
	// hangs up does not stop the function.
	res, err := fn.InvokeWithID(s.ctx, requestID, inv)
	switch {
	case errors.Is(err, local.ErrThrottled):
		throttled().write(w, requestID)
		return
	case err != nil:
		serviceError(err).write(w, requestID)
		return
	}
	s.cfg.Logger.Debug("lambda API invocation", "function", inv.Function, "request_id", requestID,
		"outcome", res.Outcome.String(), "duration", res.Duration, "message", res.Message)
	payload, unhandled := responseBody(res)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-RequestId", requestID)
	h.Set("X-Amz-Executed-Version", "$LATEST")
	if unhandled {
		h.Set("X-Amz-Function-Error", "Unhandled")
	}
	if tail {
		h.Set("X-Amz-Log-Result", logResult(invocationLog(res, fn.Config().MemoryMB)))
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(payload)
}

// responseBody is the body Lambda returns for res, and whether it is an
// error (X-Amz-Function-Error: Unhandled). The platform already words
// function errors, timeouts and crashes as Lambda does.
func responseBody(res lambda.Result) (payload []byte, unhandled bool) {
	if res.Outcome == lambda.OK {
		if len(res.Payload) > maxResponse {
			return errorBody("Function.ResponseSizeTooLarge",
				"Response payload size exceeded maximum allowed payload size (6291556 bytes)."), true
		}
		return res.Payload, false
	}
	if len(res.Payload) == 0 {
		return errorBody("Runtime.Unknown", res.Message), true
	}
	return res.Payload, true
}

func errorBody(errorType, message string) []byte {
	b, _ := json.Marshal(map[string]string{"errorType": errorType, "errorMessage": message}) // strings only
	return b
}

func checkTypes(invType, logType string) *apiError {
	switch invType {
	case requestResponse, event, dryRun:
	default:
		return invalidParameter("Unsupported invocation type " + invType + ": use RequestResponse, Event or DryRun")
	}
	switch logType {
	case "", "None", "Tail":
	default:
		return invalidParameter("Unsupported log type " + logType + ": use None or Tail")
	}
	return nil
}

// readPayload reads the event and checks it is JSON, as Lambda does before
// it invokes anything; an empty body is the event {}.
func readPayload(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *apiError) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, tooLarge(limit)
	case err != nil:
		return nil, invalidContent(err)
	case len(b) > 0 && !json.Valid(b):
		var v any
		return nil, invalidContent(json.Unmarshal(b, &v))
	}
	return b, nil
}

// splitFunction accepts the forms Lambda does: name, name:qualifier,
// account:function:name[:qualifier] and the full ARN. Region and account of
// an ARN are not checked: every local function answers to any.
func splitFunction(s string) (name, qualifier string) {
	parts := strings.Split(s, ":")
	switch {
	case len(parts) >= 7 && parts[0] == "arn" && parts[5] == "function":
		parts = parts[6:]
	case len(parts) >= 3 && parts[1] == "function":
		parts = parts[2:]
	}
	if len(parts) > 2 {
		return s, "" // not a form Lambda knows: no function has this name
	}
	if len(parts) == 2 {
		qualifier = parts[1]
	}
	return parts[0], qualifier
}
