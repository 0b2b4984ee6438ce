DROP TABLE annotation_w3c;
