DROP TABLE citations;
DROP TABLE annotations;
