"""The sharing exchange (共享): demands, grants, APIs, landing, confirmation, call audit."""
