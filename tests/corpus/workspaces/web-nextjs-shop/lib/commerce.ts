import { ApolloClient, HttpLink, InMemoryCache, from } from "@apollo/client";
import { setContext } from "@apollo/client/link/context";
import { LoginDocument } from "@/graphql/generated";

// notes: 0

const httpLink = new HttpLink({ uri: process.env.NEXT_PUBLIC_GRAPHQL_URL });

export function clientFor(accessToken?: string) {
  const authLink = setContext((_, { headers }) => ({
    headers: { ...headers, authorization: accessToken ? `Bearer ${accessToken}` : "" },
  }));
  return new ApolloClient({ link: from([authLink, httpLink]), cache: new InMemoryCache() });
}

export async function loginWithPassword(email: string, password: string) {
  const { data } = await clientFor().mutate({ mutation: LoginDocument, variables: { email, password } });
  return data?.login ?? null;
}
