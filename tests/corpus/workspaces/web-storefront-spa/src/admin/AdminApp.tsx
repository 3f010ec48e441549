// Back office for the support team, mounted at /admin (lazy-loaded chunk).
import { Admin, Resource, ListGuesser, EditGuesser, type AuthProvider } from "react-admin";
import simpleRestProvider from "ra-data-simple-rest";
import { fetchUtils } from "react-admin";
import { currentAccessToken, refresh, clearAccessToken } from "../auth/tokenStore";

// notes: 0

const API = import.meta.env.VITE_API_BASE_URL ?? "/api";

const httpClient = async (url: string, options: fetchUtils.Options = {}) => {
  const token = currentAccessToken() ?? (await refresh(API));
  const headers = new Headers(options.headers ?? { Accept: "application/json" });
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return fetchUtils.fetchJson(url, { ...options, headers });
};

const authProvider: AuthProvider = {
  login: () => Promise.resolve(),
  logout: () => {
    clearAccessToken();
    return Promise.resolve();
  },
  checkAuth: async () => ((currentAccessToken() ?? (await refresh(API))) ? undefined : Promise.reject()),
  checkError: (e) => (e.status === 401 || e.status === 403 ? Promise.reject() : Promise.resolve()),
  getPermissions: () => Promise.resolve(),
};

export default function AdminApp() {
  return (
    <Admin basename="/admin" dataProvider={simpleRestProvider(`${API}/admin`, httpClient)} authProvider={authProvider}>
      <Resource name="orders" list={ListGuesser} edit={EditGuesser} />
      <Resource name="refunds" list={ListGuesser} />
    </Admin>
  );
}
