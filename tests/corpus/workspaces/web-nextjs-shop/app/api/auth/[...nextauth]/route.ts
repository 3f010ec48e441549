import NextAuth, { type NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import GitHubProvider from "next-auth/providers/github";
import { loginWithPassword } from "@/lib/commerce";

// notes: 0

export const authOptions: NextAuthOptions = {
  secret: process.env.NEXTAUTH_SECRET,
  session: { strategy: "jwt", maxAge: 60 * 60 * 8 },
  pages: { signIn: "/login" },
  providers: [
    CredentialsProvider({
      name: "Email",
      credentials: {
        email: { label: "Email", type: "email" },
        password: { label: "Password", type: "password" },
      },
      async authorize(credentials) {
        if (!credentials?.email || !credentials.password) return null;
        const res = await loginWithPassword(credentials.email, credentials.password);
        return res ? { id: res.user.id, email: res.user.email, accessToken: res.accessToken } : null;
      },
    }),
    GitHubProvider({
      clientId: process.env.GITHUB_ID!,
      clientSecret: process.env.GITHUB_SECRET!,
    }),
  ],
  callbacks: {
    async jwt({ token, user }) {
      if (user && "accessToken" in user) token.accessToken = user.accessToken as string;
      return token;
    },
    async session({ session, token }) {
      return { ...session, hasApiAccess: Boolean(token.accessToken) };
    },
  },
};

const handler = NextAuth(authOptions);
export { handler as GET, handler as POST };
