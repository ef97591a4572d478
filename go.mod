module github.com/klaxonhq/klaxon

go 1.26.8
