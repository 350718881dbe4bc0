"""The Dark Matter Book's shared code, organised as the book is.

`book` is the book's own machinery and imports no Part; `toys` (Part I), `toy_saes` (Part II), `lm`
(Part III) and `dark_matter` (Part IV) follow the book, each importing only earlier ones; `bench`
times them all. `profiles` and `build` are the two command-line modules at the top."""
