package vendors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// bedrockSign signs req with SigV4 for service and region at now, over body,
// which must be the exact bytes req will send.
//
// The SDK signer signs every header of the request it is given except a
// short ignore list (Authorization, User-Agent, X-Amzn-Trace-Id, Expect,
// Transfer-Encoding), plus Content-Length when the request's ContentLength is
// positive. Signing the router's outgoing request as is would therefore cover
// headers that a hop between the router and AWS may legitimately add, change
// or drop (an egress proxy's Via, a client header passed through, a
// Content-Length turned into chunked encoding), and each of those would turn
// into a 403 SignatureDoesNotMatch. So the signer gets a copy of the request
// that has only:
//
//   - host (req.URL.Host: the router clears req.Host, so Go sends URL.Host),
//   - content-type, when set,
//   - x-amz-date and, with temporary credentials, x-amz-security-token
//     (both added by the signer),
//   - and any other X-Amz-* header already on req (only the operator's: the
//     aws kind drops the client's), since AWS wants those signed;
//
// and no content length. Its Authorization, X-Amz-Date and
// X-Amz-Security-Token are then copied onto req; every other header of req
// is sent unsigned, which AWS accepts.
//
// The payload hash is the hex SHA-256 of body: the body must not change
// after this call (the caller signs last). The canonical URI is
// req.URL.EscapedPath() escaped once more, which is what SigV4 wants for
// every service but S3 (so "v1%3A0" is signed as "v1%253A0").
func bedrockSign(ctx context.Context, signer *v4.Signer, creds aws.Credentials, req *http.Request,
	body []byte, service, region string, now time.Time) error {
	sum := sha256.Sum256(body)
	u := *req.URL
	sreq := &http.Request{Method: req.Method, URL: &u, Header: make(http.Header, 4)}
	for name, values := range req.Header {
		switch {
		case strings.EqualFold(name, "Content-Type"):
			sreq.Header["Content-Type"] = values
		case strings.EqualFold(name, "X-Amz-Date"), strings.EqualFold(name, "X-Amz-Security-Token"):
			// the signer's own
		case len(name) > 6 && strings.EqualFold(name[:6], "X-Amz-"):
			sreq.Header[http.CanonicalHeaderKey(name)] = values
		}
	}
	if err := signer.SignHTTP(ctx, creds, sreq, hex.EncodeToString(sum[:]), service, region, now); err != nil {
		return err
	}
	for _, name := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token"} {
		if v := sreq.Header.Get(name); v != "" {
			req.Header.Set(name, v)
		} else {
			req.Header.Del(name)
		}
	}
	return nil
}
