-- What a W3C Web Annotation document sent in held beyond Gloss's own fields (the text body's
-- format, language and purpose, further bodies, selectors and targets), as JSON, kept as given
-- and returned in the annotation's W3C form. Only annotations made from such a document have a row.
CREATE TABLE annotation_w3c (
    annotation_id BIGINT PRIMARY KEY REFERENCES annotations (id) ON DELETE CASCADE,
    data TEXT NOT NULL
);
