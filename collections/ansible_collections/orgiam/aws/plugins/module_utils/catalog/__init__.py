# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The catalog: roles_catalog/ loaded, checked without AWS, and turned into plain data.

``loader`` reads and checks settings.yml and the roles, ``identity`` identity.yml, ``yamlsource``
keeps every value's file and line for errors, ``managed_policies`` knows AWS's managed policies.
"""

from .loader import (  # noqa: F401 - the catalog's public names
    SETTINGS_SCHEMA,
    Catalog,
    CatalogError,
    OUTarget,
    RoleDef,
    Selector,
    Settings,
    canonical_json,
    catalog_digest,
    load_catalog,
    normalize_ou_path,
)
