// Package bootstrapdata keeps a machine's bootstrap data out of its
// instance's user data. A control plane machine's kubeadm bootstrap data
// holds the cluster's certificate authorities' and service account
// private keys; a cloud serves user data for the instance's whole life
// (EC2's DescribeInstanceAttribute and metadata service, DigitalOcean's
// droplet metadata). So the data is stored elsewhere for the boot, and the
// user data is a cloud-init boothook that fetches it, deletes it where it
// was stored and hands it to cloud-init. This package holds what the
// clouds share: the compression and the user data document.
package bootstrapdata

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
)

// File is where a boothook writes the bootstrap data on the machine,
// readable by root alone: the path Cluster API Provider AWS uses.
const File = "/etc/secret-userdata.txt"

// Gzip compresses data, as boothooks gunzip it.
func Gzip(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// UserData is the user data of a machine whose boothook script writes its
// bootstrap data to File: a MIME multipart document with the boothook,
// then an include of the file. cloud-init runs boothooks on every boot
// before it reads the other parts, so the include finds the file.
func UserData(boothook string) ([]byte, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if err := w.SetBoundary("capi-bootstrap-data"); err != nil {
		return nil, err
	}
	for _, part := range []struct{ contentType, filename, content string }{
		{"text/cloud-boothook", "bootstrap-fetch.sh", boothook},
		{"text/x-include-url", "bootstrap-include.txt", "file://" + File + "\n"},
	} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", part.contentType+`; charset="us-ascii"`)
		h.Set("Content-Transfer-Encoding", "7bit")
		h.Set("Content-Disposition", `attachment; filename="`+part.filename+`"`)
		pw, err := w.CreatePart(h)
		if err != nil {
			return nil, err
		}
		if _, err := pw.Write([]byte(part.content)); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	head := fmt.Sprintf("Content-Type: multipart/mixed; boundary=%q\nMIME-Version: 1.0\n\n", w.Boundary())
	return append([]byte(head), body.Bytes()...), nil
}

// Part is one part of a user data document: its media type and body.
type Part struct {
	MediaType string
	Body      string
}

// Parts reads a user data document that UserData wrote.
func Parts(userData []byte) ([]Part, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(userData))
	if err != nil {
		return nil, err
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	if mediaType != "multipart/mixed" {
		return nil, fmt.Errorf("user data of type %s, not multipart/mixed", mediaType)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	var parts []Part
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return parts, nil
		}
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(p)
		if err != nil {
			return nil, err
		}
		ct, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			return nil, err
		}
		parts = append(parts, Part{MediaType: ct, Body: string(body)})
	}
}
