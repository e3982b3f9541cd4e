package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRetentionPerMailboxAndDirection(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       RetentionConfig
		err        string
	}{
		{"days", "{incoming_bodies: 90d, outgoing_bodies: 365d}",
			RetentionConfig{IncomingBodies: Period(90 * 24 * time.Hour), OutgoingBodies: Period(365 * 24 * time.Hour)}, ""},
		{"duration", "{outgoing_bodies: 48h}", RetentionConfig{OutgoingBodies: Period(48 * time.Hour)}, ""},
		{"originals after bodies", "{incoming_bodies: 30d, incoming_originals: 3650d}",
			RetentionConfig{IncomingBodies: Period(30 * 24 * time.Hour), IncomingOriginals: Period(3650 * 24 * time.Hour)}, ""},
		{"shorter than a day", "{incoming_bodies: 1h}", RetentionConfig{}, "mailboxes[0].retention.incoming_bodies: must be at least 1d"},
		{"originals before bodies", "{incoming_bodies: 30d, incoming_originals: 10d}", RetentionConfig{}, "mailboxes[0].retention.incoming_originals: must not be shorter"},
		{"originals without bodies", "{incoming_originals: 10d}", RetentionConfig{}, "mailboxes[0].retention.incoming_originals: must not be shorter"},
		{"not a period", "{incoming_bodies: ninety}", RetentionConfig{}, "neither days (90d) nor a duration"},
		{"unknown key", "{incoming_body: 90d}", RetentionConfig{}, "incoming_body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Decode(strings.NewReader(strings.Replace(validConfig, "    intake: eakte", "    intake: eakte\n    retention: "+tc.yaml, 1)))
			if err == nil {
				err = c.Validate()
			}
			if tc.err != "" {
				if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want ErrConfig naming %q", err, tc.err)
				}
				return
			}
			if err != nil || c.Mailboxes[0].Retention != tc.want {
				t.Fatalf("retention %+v %v, want %+v", c.Mailboxes[0].Retention, err, tc.want)
			}
		})
	}
}

func TestMaxUploadBytes(t *testing.T) {
	c, err := Decode(strings.NewReader(strings.Replace(validConfig, "api:\n", "api:\n  max_upload_bytes: -1\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "api.max_upload_bytes") {
		t.Fatalf("negative budget: %v", err)
	}
}
