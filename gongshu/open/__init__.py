"""The open-data portal (开放): public pages, CKAN Action API, DCAT-AP 3, applications, developer keys."""
