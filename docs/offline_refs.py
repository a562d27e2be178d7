"""Sphinx extension for building the docs site offline (make docs): references to pages of Ansible's own
documentation become plain links to docs.ansible.com, built from the label, instead of intersphinx
look-ups that need the network. Every other reference still has to resolve (the build runs with -W)."""

from docutils import nodes

ANSIBLE_DOCS = "https://docs.ansible.com/projects/ansible/latest/"
# Labels of Ansible's documentation that antsibull-docs' pages refer to, and their pages.
PAGES = {
    "action_plugins": "plugins/action.html",
    "common_return_values": "reference_appendices/common_return_values.html",
    "ansible_configuration_settings": "reference_appendices/config.html",
}
OWN = "ansible_collections.ontap.virtualization."


def _url(target):
    if target in PAGES:
        return ANSIBLE_DOCS + PAGES[target]
    if target.startswith("ansible_collections.") and not target.startswith(OWN):
        parts = target.split(".")
        if len(parts) == 4:  # ansible_collections.<namespace>.<name>.<plugin>_<type>
            return ANSIBLE_DOCS + "collections/{0}/{1}/{2}.html".format(*parts[1:])
    return None


def _missing_reference(_app, _env, node, contnode):
    if node.get("refdomain") != "std" or node.get("reftype") not in ("ref", "any"):
        return None
    url = _url(node.get("reftarget", ""))
    if url is None:
        return None
    link = nodes.reference("", "", internal=False, refuri=url)
    link.append(contnode)
    return link


def setup(app):
    app.connect("missing-reference", _missing_reference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
