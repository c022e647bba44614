package workload

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
)

// cloud-init's user data processing, before the cloud-config it ends up
// with is played: user data is gunzipped if it is gzip; a MIME multipart
// document is taken apart, its boothooks run first (see boothook.go) and
// then its includes are read, which may name what a boothook wrote. The
// lab plays one cloud-config per machine: inline, a text/cloud-config
// part, or the content of a text/x-include-url part.

// errNoMetadata is cloud-init on an instance whose metadata endpoint is
// disabled: its EC2 datasource finds nothing, and it falls back to no
// datasource, without user data.
var errNoMetadata = errors.New("no datasource found: the instance metadata endpoint is disabled, so there is no user data")

// userData is the cloud-config cloud-init plays on the instance, after
// running the user data's boothooks. ErrNotKubeadm means the user data
// holds none the lab can play.
func (s *Simulator) userData(i Instance) ([]byte, error) {
	if i.Cloud == AWS && i.MetadataEndpointDisabled {
		return nil, errNoMetadata
	}
	data, err := gunzipIfGzip(i.UserData)
	if err != nil {
		return nil, fmt.Errorf("gzip user data: %w", err)
	}
	if !isMIME(data) {
		return data, nil
	}
	parts, err := mimeParts(data)
	if err != nil {
		return nil, fmt.Errorf("user data: %w", err)
	}
	files := map[string][]byte{}
	for _, p := range parts {
		if p.contentType == "text/cloud-boothook" {
			if err := s.runBoothook(i, p.content, files); err != nil {
				return nil, fmt.Errorf("boothook: %w", err)
			}
		}
	}
	var configs [][]byte
	for _, p := range parts {
		switch p.contentType {
		case "text/cloud-config":
			configs = append(configs, p.content)
		case "text/x-include-url":
			included, err := readIncludes(p.content, files)
			if err != nil {
				return nil, err
			}
			configs = append(configs, included...)
		}
	}
	switch len(configs) {
	case 0:
		return nil, ErrNotKubeadm
	case 1:
		return configs[0], nil
	}
	return nil, fmt.Errorf("user data holds %d cloud-configs, which cloud-init would merge; the lab plays one", len(configs))
}

// gunzipIfGzip gunzips data that starts with gzip's magic, as cloud-init
// does with user data.
func gunzipIfGzip(data []byte) ([]byte, error) {
	if !bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		return data, nil
	}
	return gunzip(data)
}

func gunzip(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// isMIME says whether cloud-init reads the user data as a MIME message:
// it starts with a MIME header.
func isMIME(data []byte) bool {
	head := strings.ToLower(string(data[:min(len(data), 64)]))
	return strings.HasPrefix(head, "content-type:") || strings.HasPrefix(head, "mime-version:")
}

type mimePart struct {
	contentType string
	content     []byte
}

// mimeParts takes a multipart document apart, decoding each part's
// transfer encoding.
func mimeParts(data []byte) ([]mimePart, error) {
	msg, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		return nil, err
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("Content-Type: %w", err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		body, err := io.ReadAll(msg.Body)
		if err != nil {
			return nil, err
		}
		content, err := decodeTransfer(msg.Header.Get("Content-Transfer-Encoding"), body)
		return []mimePart{{contentType: mediaType, content: content}}, err
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	var parts []mimePart
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			return parts, nil
		}
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(p)
		if err != nil {
			return nil, err
		}
		content, err := decodeTransfer(p.Header.Get("Content-Transfer-Encoding"), body)
		if err != nil {
			return nil, err
		}
		// A part without a type is text/plain, which cloud-init ignores.
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts = append(parts, mimePart{contentType: ct, content: content})
	}
}

// decodeTransfer undoes a part's Content-Transfer-Encoding (multipart's
// reader has already undone quoted-printable).
func decodeTransfer(encoding string, body []byte) ([]byte, error) {
	if strings.EqualFold(strings.TrimSpace(encoding), "base64") {
		return base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(body)), ""))
	}
	return body, nil
}

// readIncludes reads an include part's URLs, one a line: file:// URLs
// from the machine's files. A URL cloud-init cannot read leaves nothing
// to play.
func readIncludes(list []byte, files map[string][]byte) ([][]byte, error) {
	var out [][]byte
	for _, line := range strings.Split(string(list), "\n") {
		url := strings.TrimSpace(line)
		if url == "" || strings.HasPrefix(url, "#") {
			continue
		}
		path, ok := strings.CutPrefix(url, "file://")
		if !ok {
			return nil, fmt.Errorf("include %s: the lab reads file:// URLs only", url)
		}
		content, ok := files[path]
		if !ok {
			return nil, fmt.Errorf("include %s: no such file", url)
		}
		out = append(out, content)
	}
	return out, nil
}
