package dosim

import (
	"net/url"
	"strconv"
)

// Pagination as DigitalOcean does it: page (from 1) and per_page (20 by
// default, at most 200) in the query; the body carries links.pages with
// first and prev on every page after the first, next and last on every
// page before the last, each a full URL with page= (godo reads the
// current page off prev and stops when next is missing), and meta.total.
const (
	defaultPerPage = 20
	maxPerPage     = 200
)

type pageLinks struct {
	First string `json:"first,omitempty"`
	Prev  string `json:"prev,omitempty"`
	Next  string `json:"next,omitempty"`
	Last  string `json:"last,omitempty"`
}

type links struct {
	Pages pageLinks `json:"pages"`
}

type meta struct {
	Total int `json:"total"`
}

// pageOf cuts items to the requested page and returns the links and meta
// that go with it. A page past the end is empty, as DigitalOcean's is.
func pageOf[T any](r *request, items []T) ([]T, links, meta, *apiError) {
	page, perPage := 1, defaultPerPage
	if v := r.query.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, links{}, meta{}, badRequest("page must be a positive integer")
		}
		page = n
	}
	if v := r.query.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, links{}, meta{}, badRequest("per_page must be a positive integer")
		}
		perPage = min(n, maxPerPage)
	}
	total := len(items)
	last := max((total+perPage-1)/perPage, 1)
	start := min((page-1)*perPage, total)
	end := min(start+perPage, total)
	out := items[start:end]
	if out == nil {
		out = []T{}
	}
	link := func(p int) string {
		q := url.Values{}
		for k, v := range r.query {
			q[k] = v
		}
		q.Set("page", strconv.Itoa(p))
		q.Set("per_page", strconv.Itoa(perPage))
		return r.base + r.path + "?" + q.Encode()
	}
	var l links
	if page > 1 {
		l.Pages.First, l.Pages.Prev = link(1), link(page-1)
	}
	if page < last {
		l.Pages.Next, l.Pages.Last = link(page+1), link(last)
	}
	return out, l, meta{Total: total}, nil
}
