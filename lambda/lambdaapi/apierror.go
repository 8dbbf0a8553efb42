package lambdaapi

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is an error response of the Lambda API. The SDK takes the code
// from the X-Amzn-ErrorType header and the message from the body, whose
// field names differ per error type as in Lambda's model ("Message" for
// ResourceNotFoundException, "message" for most others).
type apiError struct {
	status int
	code   string
	body   map[string]string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %v", e.status, e.code, e.body) }

func (e *apiError) write(w http.ResponseWriter, requestID string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-RequestId", requestID)
	h.Set("X-Amzn-ErrorType", e.code)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(e.body)
}

func functionNotFound(arn string) *apiError {
	return &apiError{http.StatusNotFound, "ResourceNotFoundException",
		map[string]string{"Type": "User", "Message": "Function not found: " + arn}}
}

func throttled() *apiError {
	return &apiError{http.StatusTooManyRequests, "TooManyRequestsException",
		map[string]string{"Type": "User", "Reason": "ConcurrentInvocationLimitExceeded", "message": "Rate Exceeded."}}
}

func invalidContent(err error) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidRequestContentException",
		map[string]string{"Type": "User", "message": "Could not parse request body into json: " + err.Error()}}
}

func tooLarge(limit int64) *apiError {
	return &apiError{http.StatusRequestEntityTooLarge, "RequestTooLargeException",
		map[string]string{"Type": "User", "message": fmt.Sprintf("Request must be smaller than %d bytes for the InvokeFunction operation", limit)}}
}

func invalidParameter(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterValueException",
		map[string]string{"Type": "User", "message": msg}}
}

func serviceError(err error) *apiError {
	return &apiError{http.StatusInternalServerError, "ServiceException",
		map[string]string{"Type": "Service", "Message": err.Error()}}
}

func unknownOperation(method, path string) *apiError {
	return &apiError{http.StatusNotFound, "UnknownOperationException",
		map[string]string{"message": "the local lambda platform serves only Invoke, not " + method + " " + path}}
}
