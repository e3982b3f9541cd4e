package mailbox

import (
	"context"
	"io"
)

// Part is one document handed in for sending.
type Part struct {
	Name        string
	ContentType string
	Role        Role // default RoleDocument
	Body        io.Reader
}

// Submit is the durable hand-in of an outgoing message: every part is
// streamed into the blob store and committed (fsync, rename, directory
// fsync), then the row is committed. Only when Submit returns nil may the
// caller report the message as accepted. A full disk returns ErrDiskFull
// and leaves no row (blobs already committed stay and are shared by
// content with any later try).
// n carries everything but the documents, which Submit fills in from parts.
func Submit(ctx context.Context, st Store, blobs BlobStore, n NewOutgoing, parts []Part) (Message, error) {
	docs := make([]Document, 0, len(parts))
	for _, p := range parts {
		if err := ctx.Err(); err != nil {
			return Message{}, err
		}
		doc, err := putPart(blobs, p)
		if err != nil {
			return Message{}, err
		}
		docs = append(docs, doc)
	}
	n.Documents = docs
	return st.Enqueue(ctx, n)
}

// putPart commits the body of p as a blob and returns the document that
// names it, outgoing or incoming alike.
func putPart(blobs BlobStore, p Part) (Document, error) {
	ref, err := blobs.Put(p.Body)
	if err != nil {
		return Document{}, err
	}
	return partDocument(p, ref), nil
}

// partDocument is the document of part p stored as blob ref.
func partDocument(p Part, ref BlobRef) Document {
	role := p.Role
	if role == "" {
		role = RoleDocument
	}
	return Document{Role: role, Name: p.Name, ContentType: p.ContentType, SHA256: ref.SHA256, Size: ref.Size}
}
