package oidclogin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// graphBatch is how many group ids checkMemberGroups takes at once.
const graphBatch = 20

// graphGroups asks Microsoft Graph which of groups (object ids) the
// signed-in user is a member of, transitively (me/checkMemberGroups,
// delegated permission User.Read), with the log-in's access token. Any
// failure is ErrProvider.
func graphGroups(ctx context.Context, client *http.Client, base, accessToken string, groups []string) ([]string, error) {
	endpoint := strings.TrimSuffix(base, "/") + "/v1.0/me/checkMemberGroups"
	var member []string
	for start := 0; start < len(groups); start += graphBatch {
		batch := groups[start:min(start+graphBatch, len(groups))]
		body, _ := json.Marshal(struct {
			GroupIDs []string `json:"groupIds"`
		}{batch})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("%w: microsoft graph: %v", ErrProvider, err)
		}
		req.Header.Set("Authorization", "Bearer "+accessToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%w: microsoft graph: %v", ErrProvider, err)
		}
		var out struct {
			Value []string `json:"value"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%w: microsoft graph: checkMemberGroups answered %s", ErrProvider, resp.Status)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: microsoft graph: %v", ErrProvider, err)
		}
		member = append(member, out.Value...)
	}
	return member, nil
}
