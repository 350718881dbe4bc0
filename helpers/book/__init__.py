"""The book's own machinery: paths, checksums, npm assets, starting a section, results and claims, the
figure style and seeded random sources. It imports no Part."""
