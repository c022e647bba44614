package awssim

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"

	"github.com/aws/smithy-go"
)

const (
	ec2Namespace   = "http://ec2.amazonaws.com/doc/2016-11-15/"
	elbv2Namespace = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
)

// innerXML marshals v and drops its outer element, leaving the children
// that a response wraps in its own element.
func innerXML(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := xml.NewEncoder(&buf).EncodeElement(v, xml.StartElement{Name: xml.Name{Local: "r"}}); err != nil {
		return nil, err
	}
	out := buf.Bytes()
	start := bytes.IndexByte(out, '>')
	end := bytes.LastIndex(out, []byte("</"))
	if start < 0 || end < start {
		// A self-closed element has no children.
		return nil, nil
	}
	return out[start+1 : end], nil
}

func writeEC2(w http.ResponseWriter, action, requestID string, body any) {
	inner, err := innerXML(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<%sResponse xmlns="%s"><requestId>%s</requestId>%s</%sResponse>`,
		action, ec2Namespace, requestID, inner, action)
}

func writeELBv2(w http.ResponseWriter, action, requestID string, body any) {
	inner, err := innerXML(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`,
		action, elbv2Namespace, action, inner, action, requestID, action)
}

// apiError is an error as the service reports it.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// ErrorCode, ErrorMessage and ErrorFault make the errors of an instance's
// own calls read as the SDK's do (smithy.APIError).
func (e *apiError) ErrorCode() string    { return e.code }
func (e *apiError) ErrorMessage() string { return e.message }
func (e *apiError) ErrorFault() smithy.ErrorFault {
	if e.status >= 500 {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func badRequest(code, format string, args ...any) *apiError {
	return errorf(http.StatusBadRequest, code, format, args...)
}

func writeEC2Error(w http.ResponseWriter, requestID string, e *apiError) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(e.status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`,
		escape(e.code), escape(e.message), requestID)
}

func writeELBv2Error(w http.ResponseWriter, requestID string, e *apiError) {
	kind := "Sender"
	if e.status >= 500 {
		kind = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(e.status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		elbv2Namespace, kind, escape(e.code), escape(e.message), requestID)
}

func escape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
